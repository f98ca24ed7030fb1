"""Heartbeat checks: no network, just "did the job ping in time?"."""

from __future__ import annotations

from datetime import datetime, timedelta

from checks.durations import format_duration
from checks.result import ProbeResult
from checks.spec import CheckSpec

__all__ = ["evaluate_heartbeat", "heartbeat_due_at"]


def heartbeat_due_at(spec: CheckSpec, last_ping_at: datetime | None, started_at: datetime) -> datetime:
    """When the check goes down without a ping: the last ping (or the start) + interval + grace."""
    reference = last_ping_at or started_at
    return reference + timedelta(seconds=spec.interval + (spec.grace or 0.0))


def evaluate_heartbeat(
    spec: CheckSpec, last_ping_at: datetime | None, now: datetime, started_at: datetime
) -> ProbeResult:
    """Judge a heartbeat check at ``now``; never raises.

    ``started_at`` is when monitoring began (the check was created or last
    re-armed). Before the first ping the check is up while the first period
    (plus grace) runs, with a message saying it is waiting; afterwards it is
    down (error class ``timeout``) once ``interval + grace`` passes without a ping.
    """
    try:
        due = heartbeat_due_at(spec, last_ping_at, started_at)
        observed: dict[str, object] = {
            "last_ping_at": last_ping_at.isoformat() if last_ping_at else None,
            "due_at": due.isoformat(),
        }
        period = format_duration(spec.interval)
        grace = format_duration(spec.grace or 0.0)
        if now <= due:
            if last_ping_at is None:
                message = f"waiting for the first ping (due by {due.isoformat()})"
            else:
                message = f"last ping {format_duration((now - last_ping_at).total_seconds(), max_units=2)} ago"
            return ProbeResult(outcome="up", message=message, observed=observed, checked_at=now)
        late = format_duration((now - due).total_seconds(), max_units=2)
        if last_ping_at is None:
            message = f"no ping since monitoring started at {started_at.isoformat()} (every {period} + {grace} grace)"
        else:
            ago = format_duration((now - last_ping_at).total_seconds(), max_units=2)
            message = f"no ping for {ago} (expected every {period} + {grace} grace; {late} late)"
        observed["overdue_s"] = (now - due).total_seconds()
        return ProbeResult(outcome="down", error_class="timeout", message=message, observed=observed, checked_at=now)
    except Exception as exc:  # a probe never raises
        return ProbeResult(outcome="down", error_class="internal", message=f"{type(exc).__name__}: {exc}")
