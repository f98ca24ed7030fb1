"""Honest self-monitoring: is anyone actually running the checks, and on time?

Workers write their check loop's figures (``scheduler.SchedulerStats``: probes in flight, waiting for a
slot, start lag p50/p99 over the last minute, saturation, errors by kind) into their heartbeat row every
few seconds; everything here reads those rows, so any web replica gives the same answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from ...db import utcnow
from ...extensions import db
from ...models import Check, WorkerHeartbeat
from ...templating import local_time
from ..notifications.oncall import enqueue_oncall_alert
from ..page import get_page


@dataclass(frozen=True)
class WorkerLoad:
    """One live worker's check-loop figures, from its heartbeat."""

    id: str
    last_seen_at: dt.datetime
    in_flight: int
    running: int
    waiting: int
    max_in_flight: int
    lag_p50: float
    lag_p99: float
    saturated: bool
    skipped_slots: int
    errors: dict[str, dict[str, int]]


@dataclass(frozen=True)
class MonitoringState:
    delayed: bool
    last_checks_at: dt.datetime | None
    workers_alive: int
    start_lag_p99: float | None = None  # the worst live worker's, over its last minute
    max_start_lag: float | None = None  # the threshold it is held to
    saturated_workers: int = 0

    @property
    def lagging(self) -> bool:
        """Checks run, but start later than the threshold allows (p99 over the last minute)."""
        return (self.start_lag_p99 is not None and self.max_start_lag is not None
                and self.start_lag_p99 > self.max_start_lag)

    @property
    def message(self) -> str:
        if not self.delayed and self.lagging:
            return (f"Checks start late: p99 start lag {self.start_lag_p99:.1f} s over the last minute "
                    f"(threshold {self.max_start_lag:g} s); {self.saturated_workers} worker(s) saturated.")
        if not self.delayed:
            return "Monitoring is current."
        if self.last_checks_at is None:
            return "Monitoring data is delayed: no checks have run yet."
        return ("Monitoring data is delayed: checks last ran at "
                f"{local_time(self.last_checks_at, get_page().tz, '%Y-%m-%d %H:%M')}.")


def worker_loads(now: dt.datetime | None = None) -> list[WorkerLoad]:
    """The check-loop figures of every worker that sent a heartbeat in the last minute."""
    now = now or utcnow()
    rows = db.session.execute(select(WorkerHeartbeat.id, WorkerHeartbeat.last_seen_at, WorkerHeartbeat.stats).where(
        WorkerHeartbeat.stopped_at.is_(None), WorkerHeartbeat.last_seen_at > now - dt.timedelta(seconds=60))
        .order_by(WorkerHeartbeat.id)).all()
    loads = []
    for worker_id, seen, stats in rows:
        stats = stats or {}
        loads.append(WorkerLoad(
            id=worker_id, last_seen_at=seen, in_flight=int(stats.get("in_flight", 0)),
            running=int(stats.get("running", 0)), waiting=int(stats.get("waiting", 0)),
            max_in_flight=int(stats.get("max_in_flight", 0)), lag_p50=float(stats.get("lag_p50", 0.0)),
            lag_p99=float(stats.get("lag_p99", 0.0)), saturated=bool(stats.get("saturated", False)),
            skipped_slots=int(stats.get("skipped_slots", 0)), errors=dict(stats.get("errors") or {})))
    return loads


def monitoring_state(stale_after: int, now: dt.datetime | None = None, *,
                     max_start_lag: float | None = None) -> MonitoringState:
    """Delayed when there are active checks and no worker has run any for `stale_after` seconds; with
    `max_start_lag`, also says whether the live workers start their probes later than that (p99)."""
    now = now or utcnow()
    has_checks = db.session.scalar(select(Check.id).where(Check.archived_at.is_(None)).limit(1)) is not None
    last = db.session.scalar(select(func.max(WorkerHeartbeat.last_checks_at)))
    loads = worker_loads(now)
    lag = max((w.lag_p99 for w in loads), default=None)
    figures = {"start_lag_p99": lag, "max_start_lag": max_start_lag,
               "saturated_workers": sum(1 for w in loads if w.saturated)}
    if not has_checks:
        return MonitoringState(False, last, len(loads), **figures)
    if last is None:
        # Give a fresh install one period to start its first worker before crying wolf.
        first = db.session.scalar(select(func.min(Check.created_at)).where(Check.archived_at.is_(None)))
        delayed = first is not None and (now - first).total_seconds() > stale_after
        return MonitoringState(delayed, None, len(loads), **figures)
    return MonitoringState((now - last).total_seconds() > stale_after, last, len(loads), **figures)


def alert_if_monitoring_delayed(stale_after: int, now: dt.datetime | None = None) -> bool:
    """Worker job: when checks have stopped running, tell the on-call address once per stall."""
    now = now or utcnow()
    state = monitoring_state(stale_after, now)
    if not state.delayed or not get_page().on_call:
        return False
    stall = state.last_checks_at.isoformat() if state.last_checks_at else "never"
    enqueue_oncall_alert(
        f"monitoring-delayed:{stall}",
        {"component": None, "component_name": "Monitoring", "status": "monitoring_delayed", "check": None,
         "result": {"message": state.message}, "at": now.isoformat()})
    db.session.commit()
    return True
