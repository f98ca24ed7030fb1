"""Honest self-monitoring: is anyone actually running the checks?"""

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
class MonitoringState:
    delayed: bool
    last_checks_at: dt.datetime | None
    workers_alive: int

    @property
    def message(self) -> str:
        if not self.delayed:
            return "Monitoring is current."
        if self.last_checks_at is None:
            return "Monitoring data is delayed: no checks have run yet."
        return ("Monitoring data is delayed: checks last ran at "
                f"{local_time(self.last_checks_at, get_page().tz, '%Y-%m-%d %H:%M')}.")


def monitoring_state(stale_after: int, now: dt.datetime | None = None) -> MonitoringState:
    """Delayed when there are active checks and no worker has run any for `stale_after` seconds."""
    now = now or utcnow()
    has_checks = db.session.scalar(select(Check.id).where(Check.archived_at.is_(None)).limit(1)) is not None
    last = db.session.scalar(select(func.max(WorkerHeartbeat.last_checks_at)))
    alive = db.session.scalar(select(func.count()).select_from(WorkerHeartbeat).where(
        WorkerHeartbeat.stopped_at.is_(None),
        WorkerHeartbeat.last_seen_at > now - dt.timedelta(seconds=60))) or 0
    if not has_checks:
        return MonitoringState(False, last, alive)
    if last is None:
        # Give a fresh install one period to start its first worker before crying wolf.
        first = db.session.scalar(select(func.min(Check.created_at)).where(Check.archived_at.is_(None)))
        delayed = first is not None and (now - first).total_seconds() > stale_after
        return MonitoringState(delayed, None, alive)
    return MonitoringState((now - last).total_seconds() > stale_after, last, alive)


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
