"""``statuspage probe``: run a probe agent for one location (registered on the ``statuspage`` command).

The command needs no database and no settings of the server: only the server's URL, the location
name and a probe token in ``STATUSPAGE_PROBE_TOKEN``. SIGTERM and SIGINT stop it cleanly (exit 0).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import click

from checks.probes.session import check_source_address
from statuspage.ops.logs import configure_logging
from statuspage.probe_agent.agent import Agent, AgentConfig
from statuspage.probe_agent.buffer import DEFAULT_MAX_ROWS
from statuspage.probe_agent.client import ClientConfigError, ProbeClient

__all__ = ["TOKEN_ENV", "probe_command"]

TOKEN_ENV = "STATUSPAGE_PROBE_TOKEN"
BUFFER_ENV = "STATUSPAGE_PROBE_BUFFER"


def default_buffer_path(location: str) -> Path:
    """``$STATUSPAGE_PROBE_BUFFER``, else ``./statuspage-probe-<location>.sqlite``."""
    configured = os.environ.get(BUFFER_ENV, "").strip()
    if configured:
        return Path(configured)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", location).strip("-.") or "location"
    return Path.cwd() / f"statuspage-probe-{safe}.sqlite"


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


@click.command(
    "probe",
    help="Run a probe agent: probe the checks that the server assigns to --location from this machine and send "
         "the results to the server. Results wait in an on-disk buffer while the server is unreachable and are "
         f"sent, in order, once it answers again. The probe token (scope probe, made for this location with "
         f"`statuspage token create --scope probe --location NAME` on the server) is read from the environment "
         f"variable {TOKEN_ENV}. Stop it with Ctrl-C or SIGTERM.",
)
@click.option("--server", required=True, metavar="URL",
              help="The status page server, e.g. https://status.example.com (https:// is required unless the "
                   "server is on this machine).")
@click.option("--location", required=True, metavar="NAME", help="The location this agent probes from, e.g. eu-west.")
@click.option("--source-address", default=None, metavar="IP",
              help="Connect to targets from this IP address of the machine (default: the system chooses).")
@click.option("--buffer", "buffer_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              metavar="PATH",
              help=f"SQLite file for results waiting to be sent (default: ${BUFFER_ENV}, else "
                   "./statuspage-probe-<location>.sqlite).")
@click.option("--max-buffer", default=DEFAULT_MAX_ROWS, show_default=True, type=click.IntRange(1, 10_000_000),
              metavar="N", help="Results kept while the server is unreachable; beyond that the oldest are dropped.")
@click.option("--max-in-flight", default=200, show_default=True, type=click.IntRange(1, 20_000), metavar="N",
              help="Probes running at once at most.")
@click.option("--refresh-every", default=30.0, hidden=True, type=click.FloatRange(0.1, 3600))
@click.option("--max-backoff", default=30.0, hidden=True, type=click.FloatRange(0.1, 3600))
def probe_command(server: str, location: str, source_address: str | None, buffer_path: Path | None,
                  max_buffer: int, max_in_flight: int, refresh_every: float, max_backoff: float) -> None:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        _fail(f"{TOKEN_ENV} is not set. Create a probe token on the server (`statuspage token create --name NAME "
              f"--scope probe --location {location}`, or on /admin/locations) and export it: "
              f"{TOKEN_ENV}=<token> statuspage probe …")
    location = location.strip()
    if not location:
        _fail("--location must not be empty")
    try:
        source = check_source_address(source_address)
    except ValueError as exc:
        _fail(f"--source-address: {exc}")
        return
    if source is not None:
        problem = _cannot_bind(source)
        if problem:
            _fail(f"--source-address {source} is not usable on this machine: {problem}")
    path = buffer_path or default_buffer_path(location)
    if path.parent and not path.parent.is_dir():
        _fail(f"the buffer's folder {path.parent} does not exist")
    configure_logging(os.environ.get("STATUSPAGE_LOG_JSON", "").strip().lower() in ("1", "true", "yes", "on"))
    try:
        client = ProbeClient(server, location, token)
    except ClientConfigError as exc:
        _fail(str(exc))
        return
    config = AgentConfig(server=client.server, location=location, token=token, buffer_path=path,
                         source_address=source, max_buffer=max_buffer, max_in_flight=max_in_flight,
                         refresh_every=refresh_every, max_backoff=max_backoff)
    agent = Agent(config, client=client)

    def on_signal(signum: int, _frame: Any) -> None:
        agent.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sys.exit(agent.run())


def _cannot_bind(ip: str) -> str | None:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((ip, 0))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
