"""Heartbeat checks, judged without network at a given time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from checks.probes import evaluate_heartbeat, heartbeat_due_at, run_probe

START = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)


def test_it_waits_for_the_first_ping(make_spec):
    spec = make_spec(kind="heartbeat", interval="1h", grace="10m")
    result = evaluate_heartbeat(spec, None, START + timedelta(minutes=30), START)
    assert result.outcome == "up"
    assert "waiting for the first ping" in result.message


def test_it_is_down_when_the_first_ping_never_comes(make_spec):
    spec = make_spec(kind="heartbeat", interval="1h", grace="10m")
    result = evaluate_heartbeat(spec, None, START + timedelta(minutes=71), START)
    assert result.outcome == "down"
    assert result.error_class == "timeout"
    assert "no ping since monitoring started" in result.message


def test_a_recent_ping_is_up_and_grace_is_honoured(make_spec):
    spec = make_spec(kind="heartbeat", interval="24h", grace="1h")
    ping = START + timedelta(hours=2)
    assert evaluate_heartbeat(spec, ping, ping + timedelta(hours=24, minutes=59), START).outcome == "up"
    late = evaluate_heartbeat(spec, ping, ping + timedelta(hours=25, minutes=1), START)
    assert late.outcome == "down"
    assert late.message == "no ping for 1d1h (expected every 1d + 1h grace; 1m late)"
    assert late.observed["overdue_s"] == 60
    assert heartbeat_due_at(spec, ping, START) == ping + timedelta(hours=25)


def test_run_probe_does_not_probe_heartbeats(make_spec):
    result = run_probe(make_spec(kind="heartbeat", interval="1h"))
    assert result.outcome == "down" and result.error_class == "internal"
    assert "evaluate_heartbeat" in result.message
