"""The probe agent as a real process against a fake server and a real target, both on 127.0.0.1.

It probes from its source address, sends every (check, slot) exactly once and in order, buffers
while the server answers 503, survives a kill -9 during the outage (resuming from its buffer and
its saved list of checks) and stops cleanly on SIGTERM. Every wait polls against a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from checks.spec import parse_check_spec
from statuspage.probe_agent.buffer import ResultBuffer
from tests.probe_agent.fakes import FakeProbeServer
from tests.support.target import TargetServer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "probe-token-for-the-test"
LOCATION = "eu-west"


def check_entry(check_id: int, slug: str, url: str) -> dict[str, Any]:
    spec, errors = parse_check_spec({"id": slug, "kind": "http", "url": url, "timeout": "2s", "interval": "5s"})
    assert not errors and spec is not None
    # A one-second interval (below what a config file allows) keeps the test short.
    return {"id": check_id, "slug": slug, "kind": "http", "interval_seconds": 1.0, "timeout_seconds": 2.0,
            "spec": spec.to_dict()}


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def target() -> Iterator[TargetServer]:
    server = TargetServer()
    yield server
    server.stop()


@pytest.fixture
def server(target: TargetServer) -> Iterator[FakeProbeServer]:
    fake = FakeProbeServer(token=TOKEN, location=LOCATION, checks=[
        check_entry(11, "api-health", f"{target.url}/a"),
        check_entry(12, "web-home", f"{target.url}/b"),
    ])
    yield fake
    fake.stop()


class AgentProcess:
    """``python -m statuspage.cli probe …`` with its log in a file."""

    def __init__(self, server: FakeProbeServer, buffer: Path, log: Path, *extra: str) -> None:
        env = {**os.environ, "STATUSPAGE_PROBE_TOKEN": TOKEN}
        env.pop("STATUSPAGE_PROBE_BUFFER", None)
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "statuspage.cli", "probe", "--server", server.url, "--location", LOCATION,
             "--buffer", str(buffer), "--max-backoff", "1", "--refresh-every", "1", *extra],
            cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT,
        )

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._out.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait(10)


@pytest.fixture
def agents() -> Iterator[list[AgentProcess]]:
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        agent.kill()


def _hits(target: TargetServer, path: str) -> int:
    return target.hits(path)


def test_the_agent_buffers_through_an_outage_and_a_kill_and_sends_each_slot_once_in_order(
    server: FakeProbeServer, target: TargetServer, agents: list[AgentProcess], tmp_path: Path
) -> None:
    buffer, log = tmp_path / "probe.sqlite", tmp_path / "agent.log"
    agents.append(AgentProcess(server, buffer, log, "--source-address", "127.0.0.2"))

    # 1. Up: results arrive, probes come from the source address.
    wait_for("3 results per check", lambda: all(len(server.applied(c)) >= 3 for c in (11, 12)))
    assert server.state.fetches >= 1

    # 2. The server answers 503: the agent goes on probing and buffers.
    server.set_mode("503")
    outage_started = datetime.now(UTC).isoformat(timespec="milliseconds")
    applied_before = {c: len(server.applied(c)) for c in (11, 12)}
    hits = {p: _hits(target, p) for p in ("/a", "/b")}
    wait_for("3 probes per check during the outage", lambda: all(_hits(target, p) >= hits[p] + 3 for p in hits))
    wait_for("the agent to have tried to send", lambda: server.state.refused_while_down >= 2)

    # 3. kill -9 while the server is still down; the restarted agent probes from its saved list.
    agents[-1].kill()
    killed_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    hits = {p: _hits(target, p) for p in ("/a", "/b")}
    agents.append(AgentProcess(server, buffer, log, "--source-address", "127.0.0.2"))
    wait_for("3 probes per check after the restart", lambda: all(_hits(target, p) >= hits[p] + 3 for p in hits))
    assert {c: len(server.applied(c)) for c in (11, 12)} == applied_before  # nothing got through the 503s

    # 4. The server is back: everything buffered arrives, then new results.
    recovered_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    server.set_mode("ok")
    wait_for("results newer than the recovery",
             lambda: all(server.applied(c) and server.applied(c)[-1] > recovered_at for c in (11, 12)))

    # 5. SIGTERM: a clean stop with exit status 0 and an empty buffer.
    agents[-1].signal(signal.SIGTERM)
    assert agents[-1].wait(60) == 0

    # Every probe came from the source address.
    assert target.peers() and set(target.peers()) == {"127.0.0.2"}

    received = server.received()
    for check_id, path in ((11, "/a"), (12, "/b")):
        rows = [r for r in received if r.row["check_id"] == check_id]
        first: dict[str, dict[str, Any]] = {}
        for r in rows:
            slot = r.row["slot"]
            if slot in first:
                # Seen before: only a resend of the very same row (a batch whose ack was lost), never a re-probe.
                assert r.row == first[slot] and not r.applied, r.row
            else:
                first[slot] = r.row
                assert r.applied, f"slot {slot} of check {check_id} arrived after a newer one: it would be lost"
        slots = server.applied(check_id)
        assert slots == sorted(slots) and len(slots) == len(set(slots))
        assert slots == list(first)
        # Results produced during the outage, before and after the kill, were buffered and replayed.
        assert sum(outage_started < s < killed_at for s in slots) >= 2, slots
        assert sum(killed_at < s < recovered_at for s in slots) >= 2, slots
        # Each probe's result arrived (at most the one running at the kill is missing).
        assert target.hits(path) - 1 <= len(slots) <= target.hits(path)

    assert ResultBuffer(buffer).depth() == 0
    agent_info = server.state.agents[-1]
    assert agent_info["hostname"] and agent_info["version"] and agent_info["dropped"] == 0
    assert any(a.get("buffer_depth", 0) > 0 for a in server.state.agents)  # it told the server about its backlog
    text = log.read_text()
    assert "2 checks assigned to eu-west" in text
    assert "buffering" in text and "replayed" in text
    assert "from the list saved by the last run" in text


def test_a_missing_token_stops_the_agent_with_a_message_naming_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "STATUSPAGE_PROBE_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "statuspage.cli", "probe", "--server", "https://status.example.com",
         "--location", LOCATION], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "STATUSPAGE_PROBE_TOKEN" in done.stderr
