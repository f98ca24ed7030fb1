"""The `statuspage` command: a Flask CLI group on create_app (``flask --app wsgi …`` works too)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from .config import SettingsError
from .probe_agent.command import probe_command


def _create_app():
    from . import create_app

    try:
        return create_app()
    except SettingsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


def register_cli(app: Flask) -> None:
    app.cli.add_command(run_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(setup_link_command)
    app.cli.add_command(config_group)
    app.cli.add_command(user_group)
    app.cli.add_command(token_group)
    app.cli.add_command(locations_command)
    app.cli.add_command(checks_group)
    for command in (backup_command, restore_command, dump_command, load_command):
        app.cli.add_command(command)
    app.cli.add_command(export_command)
    from .cli_accounts import accounts_group, sla_group

    app.cli.add_command(accounts_group)
    app.cli.add_command(sla_group)
    from .cli_compat import import_group, page_group

    app.cli.add_command(page_group)
    app.cli.add_command(import_group)


# --- run / worker ---------------------------------------------------------------------------------


@click.command("run", help="Run the all-in-one product: gunicorn web server and the scheduler worker, "
                           "supervised. Ctrl-C (or SIGTERM) stops both cleanly.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--web-workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes (gthread, 8 threads each).")
@click.option("--no-worker", is_flag=True, help="Serve the web only (another process runs `statuspage worker`).")
@click.option("--migrate/--no-migrate", default=True, show_default=True,
              help="Apply database migrations before starting.")
def run_command(host: str, port: int, web_workers: int, no_worker: bool, migrate: bool) -> None:
    busy = port_in_use(host, port)
    if busy:
        click.echo(f"Error: cannot listen on {host}:{port}: {busy}. Is statuspage (or another program) already "
                   f"running there? Stop it, or choose another port: `statuspage run --port {port + 1}` "
                   f"(with make: `make run PORT={port + 1}`).", err=True)
        sys.exit(1)
    if migrate:
        from flask_migrate import upgrade

        with current_app.app_context():
            upgrade()
    env = dict(os.environ)
    env.setdefault("STATUSPAGE_INSTANCE_PATH", current_app.instance_path)
    specs = {
        "web": [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", str(web_workers),
                "--threads", "8", "--bind", f"{host}:{port}", "--graceful-timeout", "20",
                "--access-logfile", "-", "wsgi:app"],
    }
    if not no_worker:
        specs["worker"] = [sys.executable, "-m", "statuspage.cli", "worker"]
    url = f"http://{_browsable(host)}:{port}"
    supervisor = Supervisor(specs, env=env, cwd=str(_project_root()),
                            ready={"web": lambda: _accepts(host, port)},
                            on_ready=lambda: _announce(url))
    code = supervisor.run()
    click.echo("statuspage stopped.")
    if code:
        sys.exit(code)


serve_command = click.Command("serve", callback=run_command.callback, params=run_command.params,
                              help=run_command.help, hidden=True)


@click.command("setup-link", help="Print a one-time link that creates the first admin (works until an admin "
                                  "exists; `statuspage run` prints one at every start while none does).")
@click.option("--base-url", default=None, help="Where the console is reached (default: the public URL).")
@with_appcontext
def setup_link_command(base_url: str | None) -> None:
    from .services.page import public_base_url
    from .services.users import admin_exists, setup_token

    base = (base_url or public_base_url()).rstrip("/")
    if admin_exists():
        click.echo(f"An admin exists already: sign in at {base}/login (or add people with `statuspage user "
                   f"create`).", err=True)
        sys.exit(1)
    click.echo(f"{base}/setup/{setup_token()}")


def port_in_use(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (e.g. "address already in use"), or None when it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As gunicorn binds: SO_REUSEADDR, so a port in TIME_WAIT after a restart is not "busy".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror.lower() if exc.strerror else str(exc)
    return None


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((_browsable(host), port), timeout=0.3):
            return True
    except OSError:
        return False


def _browsable(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0") else ("::1" if host == "::" else host)


def _announce(url: str) -> None:
    """The last lines of a start: where the product is, and how to get in the first time."""
    from .services.users import admin_exists, setup_token

    lines = [f"statuspage is running: {url}/  (console: {url}/admin/)"]
    with current_app.app_context():
        try:
            first_run = not admin_exists()
            token = setup_token() if first_run else ""
        finally:
            from .extensions import db

            db.session.remove()
    if first_run:
        lines.append(f"Create the first admin with this one-time link: {url}/setup/{token}")
        lines.append("(it works until an admin exists; print a new one with `.venv/bin/statuspage setup-link`)")
    else:
        lines.append(f"Sign in at {url}/login")
    click.echo("\n".join(lines), err=True)


def _project_root():
    from . import ROOT

    return ROOT


class Supervisor:
    """Start child processes, restart any that die (with backoff), stop all on SIGINT/SIGTERM.

    A child with a ``ready`` check (the web server: its port accepts connections) that exits before it
    was ever ready did not start at all (a port taken meanwhile, a broken setting): restarting would
    only repeat the failure, so everything stops and ``run`` returns 1. ``on_ready`` runs once, when
    every child with a check is ready.
    """

    def __init__(self, specs: dict[str, list[str]], *, env: dict[str, str], cwd: str,
                 ready: dict[str, Callable[[], bool]] | None = None, on_ready: Callable[[], None] | None = None):
        self.specs = specs
        self.env = env
        self.cwd = cwd
        self.procs: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, list[float]] = {name: [] for name in specs}
        self.stopping = False
        self.ready_checks = dict(ready or {})
        self.on_ready = on_ready
        self.pending_ready = set(self.ready_checks)
        self.exit_code = 0

    def _start(self, name: str) -> None:
        self.procs[name] = subprocess.Popen(self.specs[name], env=self.env, cwd=self.cwd)
        click.echo(f"[supervisor] started {name} (pid {self.procs[name].pid})", err=True)

    def _stop(self, *_args) -> None:
        self.stopping = True

    def _check_ready(self) -> None:
        for name in list(self.pending_ready):
            if self.procs[name].poll() is None and self.ready_checks[name]():
                self.pending_ready.discard(name)
                if not self.pending_ready and self.on_ready is not None:
                    self.on_ready()

    def run(self) -> int:
        """Supervise until stopped; 0 after a clean stop, 1 when a child failed to start."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        for name in self.specs:
            self._start(name)
        try:
            while not self.stopping:
                time.sleep(0.2)
                self._check_ready()
                for name, proc in list(self.procs.items()):
                    code = proc.poll()
                    if code is None or self.stopping:
                        continue
                    if name in self.pending_ready:
                        click.echo(f"Error: {name} exited with {code} before it was ready (see its messages "
                                   f"above); stopping.", err=True)
                        self.exit_code = 1
                        self.stopping = True
                        break
                    now = time.monotonic()
                    recent = [t for t in self.restarts[name] if now - t < 60]
                    self.restarts[name] = recent + [now]
                    delay = min(30.0, 0.5 * 2 ** len(recent))
                    click.echo(f"[supervisor] {name} exited with {code}; restarting in {delay:.1f}s", err=True)
                    deadline = time.monotonic() + delay
                    while time.monotonic() < deadline and not self.stopping:
                        time.sleep(0.1)
                    if not self.stopping:
                        self._start(name)
        finally:
            for proc in self.procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 25
            for name, proc in self.procs.items():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    click.echo(f"[supervisor] {name} did not stop in time; killing", err=True)
                    proc.kill()
                    proc.wait()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.exit_code


@click.command("worker", help="Run the scheduler only: claims and runs due checks, delivers the outbox, "
                              "rolls up uptime, moves maintenance windows. Run any number of them on PostgreSQL.")
@with_appcontext
def worker_command() -> None:
    from .worker import run_worker

    run_worker(current_app._get_current_object())


# --- config ---------------------------------------------------------------------------------------


@click.group("config", help="Configuration as code: validate or apply a YAML file.")
def config_group() -> None:
    pass


def _load_or_exit(path: str):
    from .configfile import ConfigFileError, load_config_file

    try:
        return load_config_file(path)
    except ConfigFileError as exc:
        click.echo(f"{path}: {len(exc.errors)} error(s):", err=True)
        for line in exc.errors:
            click.echo(f"  {line}", err=True)
        sys.exit(1)


@config_group.command("check", help="Validate FILE and list every error with its path; changes nothing.")
@click.argument("path", type=click.Path(dir_okay=False))
def config_check(path: str) -> None:
    doc = _load_or_exit(path)
    n_checks = sum(len(c.checks) for c in doc.components)
    accounts = "" if doc.accounts is None else f", {len(doc.accounts)} accounts"
    click.echo(f"{path}: OK — {len(doc.groups)} groups, {len(doc.components)} components, "
               f"{n_checks} checks{accounts}.")


@config_group.command("apply", help="Reconcile the database with FILE: create, update, archive removed "
                                    "objects (history is kept). Idempotent; invalid files change nothing.")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def config_apply(path: str) -> None:
    from .services.config_sync import apply_config

    doc = _load_or_exit(path)
    report = apply_config(doc)
    click.echo(report.summary())


# --- users and tokens -----------------------------------------------------------------------------


@click.group("user", help="Manage console users.")
def user_group() -> None:
    pass


@user_group.command("create", help="Create a console user with a role. The password is read from a prompt, "
                                   "or from standard input with --password-stdin.")
@click.option("--email", required=True, help="Login email address.")
@click.option("--role", required=True, type=click.Choice(["admin", "responder", "account_manager", "viewer"]),
              help="What the user may do.")
@click.option("--name", default=None, help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@with_appcontext
def user_create(email: str, role: str, name: str | None, password_stdin: bool) -> None:
    from .services.users import UserError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, role, password, name=name)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Created {user.role} {user.email}.", err=True)


@click.group("token", help="Manage API tokens for /api/v1.")
def token_group() -> None:
    pass


@token_group.command("create", help="Create an API token. Prints only the token on stdout (for scripts); "
                                    "it is stored hashed and cannot be shown again.")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--scope", required=True, type=click.Choice(["read", "write", "probe"]),
              help="read or write access to /api/v1, or probe: one probe agent's token (needs --location).")
@click.option("--location", default=None, help="The probe location the token belongs to (probe scope only).")
@with_appcontext
def token_create(name: str, scope: str, location: str | None) -> None:
    from .services.users import UserError, create_token

    if scope == "probe" and not (location or "").strip():
        click.echo("Error: a probe token belongs to one location: add --location NAME (e.g. --location eu-west).",
                   err=True)
        sys.exit(2)
    if scope != "probe" and location is not None:
        click.echo(f"Error: --location is for probe tokens only; a {scope} token is not bound to a location.",
                   err=True)
        sys.exit(2)
    try:
        _token, plaintext = create_token(name, scope, location=location)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    click.echo(plaintext)


@click.command("locations", help="List probe locations: status, last report, lag, agent, checks, buffer.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON (the /api/v1/locations shape).")
@with_appcontext
def locations_command(as_json: bool) -> None:
    import json

    from checks.durations import format_duration

    from .services.monitoring.location_report import location_summaries
    from .services.page import get_page
    from .templating import local_time

    rows = location_summaries()
    if as_json:
        from .web.api.v1.locations import location_json

        click.echo(json.dumps([location_json(s) for s in rows], indent=2))
        return
    tz = get_page().tz
    click.echo(f"{'LOCATION':20} {'STATUS':34} {'LAST REPORT':32} {'LAG':>7} {'CHECKS':>6} {'BUFFER':>6} "
               f"{'DROPPED':>7} {'RESULTS':>8}  AGENT")
    for s in rows:
        if s.state == "fresh":
            status = "fresh"
        elif s.state == "stale":
            status = f"stale since {local_time(s.stale_since, tz, '%Y-%m-%d %H:%M')}"
        else:
            status = "never reported"
        last = (f"{format_duration(int(s.age_seconds or 0))} ago ({local_time(s.last_report_at, tz, '%H:%M:%S')})"
                if s.last_report_at else "—")
        lag = f"{s.lag_seconds:.1f}s" if s.lag_seconds is not None else "—"
        buffer = "—" if s.buffer_depth is None else str(s.buffer_depth)
        dropped = "—" if s.dropped is None else str(s.dropped)
        results = "—" if s.results_received is None else str(s.results_received)
        agent = " ".join(x for x in (s.agent_version, s.agent_host, s.agent_address) if x) or "—"
        click.echo(f"{s.slug:20} {status:34} {last:32} {lag:>7} {s.checks_assigned:>6} {buffer:>6} "
                   f"{dropped:>7} {results:>8}  {agent}")


@click.group("checks", help="Inspect and try health checks.")
def checks_group() -> None:
    pass


@checks_group.command("run-once", help="Probe check NAME now and print the result and every condition's "
                                      "resolved value (for writing conditions). Records nothing.")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the raw result as JSON.")
@with_appcontext
def checks_run_once(name: str, as_json: bool) -> None:
    import json

    from .services.monitoring.tools import run_check_now

    try:
        check, result = run_check_now(name)
    except LookupError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(f"{check.slug} ({check.kind} {check.target or ''}): {result.outcome.upper()} "
                   f"in {result.latency_ms:.0f} ms" + (f" — {result.error_class}: {result.message}"
                                                       if result.outcome != "up" else ""))
        for cond in result.conditions:
            mark = "✓" if cond.get("ok") else ("~" if cond.get("severity") == "degraded" else "✗")
            line = f"  {mark} {cond.get('resolved') or cond.get('text')}"
            if cond.get("error"):
                line += f"  ({cond['error']})"
            click.echo(line)
    sys.exit(0 if result.outcome == "up" else 3)


@checks_group.command("list", help="List checks with their state and last result.")
@with_appcontext
def checks_list() -> None:
    from sqlalchemy import select

    from .extensions import db
    from .models import Check
    from .services.monitoring.tools import heartbeat_url

    for check in db.session.scalars(select(Check).where(Check.archived_at.is_(None)).order_by(Check.slug)):
        last = (check.last_result or {}).get("message", "")
        click.echo(f"{check.slug:30} {check.kind:9} {check.status:9} {'FLAPPING ' if check.flapping else ''}{last}")
        url = heartbeat_url(check)
        if url:
            click.echo(f"{'':30} ping URL: {url}")


# --- backup, restore, dump, load -------------------------------------------------------------------


def _ops(func, *args):
    from .ops.backup import BackupError

    try:
        return func(*args)
    except BackupError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


@click.command("backup", help="Write a consistent backup of the live database to FILE (SQLite: online backup "
                              "API; PostgreSQL: pg_dump custom format).")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path: str) -> None:
    from .ops.backup import backup

    click.echo(_ops(backup, path))


@click.command("restore", help="Replace the database's contents with FILE, a backup made by `statuspage backup`. "
                               "Stop the web and worker processes first.")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(path: str, yes: bool) -> None:
    from .ops.backup import restore

    if not yes:
        click.confirm("This replaces every row in the database. Continue?", abort=True)
    click.echo(_ops(restore, path))


@click.command("dump", help="Write all configuration and history as portable JSON lines to FILE (.gz to "
                            "compress). Loads into an empty database of either kind with `statuspage load`.")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def dump_command(path: str) -> None:
    from .ops.backup import dump

    counts = _ops(dump, path)
    click.echo(f"dumped {sum(counts.values())} rows from {len(counts)} tables to {path}")


@click.command("load", help="Load a dump made by `statuspage dump` into this (empty, migrated) database — e.g. "
                            "to move from the embedded SQLite to PostgreSQL.")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@with_appcontext
def load_command(path: str) -> None:
    from .ops.backup import load

    counts = _ops(load, path)
    click.echo(f"loaded {sum(counts.values())} rows into {len(counts)} tables")


# --- static export --------------------------------------------------------------------------------


@click.command("export", help="Write the whole public site (HTML, /api/v2 JSON, feeds, badges, calendar, "
                              "assets) to DIR, atomically: DIR becomes a symlink to a complete build. "
                              "Serve DIR from any static host (see docs/static-export.md).")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--base-url", default=None, help="Absolute URL the export will be served from; links then use it "
                                               "instead of relative paths (feeds and API always use it).")
@with_appcontext
def export_command(directory: str, base_url: str | None) -> None:
    from .services.site.export import ExportError, export_site

    try:
        report = export_site(current_app._get_current_object(), directory, base_url=base_url)
    except ExportError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary())


class StatuspageGroup(FlaskGroup):
    """Flask's CLI group without Flask's own options (--app, --env-file, --debug, Flask's --version) and
    without commands that other packages plug into every Flask app (Flask-Limiter's ``limiter``): the
    ``statuspage`` command shows only what statuspage offers."""

    FLASK_OPTIONS = ("env_file", "app", "debug")

    def __init__(self, **extra):
        super().__init__(add_default_commands=False, add_version_option=False, load_dotenv=False,
                         set_debug_flag=False, **extra)
        self.params = [p for p in self.params if p.name not in self.FLASK_OPTIONS]

    def _load_plugin_commands(self) -> None:
        self._loaded_plugin_commands = True


@click.group(cls=StatuspageGroup, create_app=_create_app,
             help="statuspage: a self-hosted trust and status page. Settings come from the environment "
                  "(see README); every command has --help.")
@click.version_option(package_name="statuspage", prog_name="statuspage", message="%(prog)s %(version)s")
def main() -> None:
    pass


# The probe agent runs on machines without the server's database or settings: it hangs on the group
# itself, so Flask never builds the app for it.
main.add_command(probe_command)


if __name__ == "__main__":
    main()
