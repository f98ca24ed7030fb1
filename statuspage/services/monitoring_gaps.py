"""Monitoring gaps: stretches of time when no worker ran checks, so components with checks were not monitored.

A status that no check has refreshed for longer than ``STATUSPAGE_MONITORING_STALE_AFTER`` is not a
measurement. Uptime (``services.uptime``) leaves such time out of its denominator and says so in words.

* A gap that is over is a ``MonitoringGap`` row [last time any worker ran checks, first time one ran
  them again). The worker that runs checks again writes it from its heartbeat
  (:func:`record_checks_ran`), before it records its own time, so the previous time is still there
  to compare with. Two workers coming back at once write the same ``started_at``: the unique key and
  insert-or-ignore keep one row.
* A gap still going on (the worker is down now) has nobody to write it: :func:`gaps_between` derives
  it at read time from the heartbeats, exactly like the "Monitoring Data Delayed" banner does.

On a fresh install the time from the first check's creation until a worker first runs checks counts
the same way (when longer than the threshold).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, func, select

from ..db import insert_ignore, utcnow
from ..extensions import db
from ..models import Check, ComponentUptimeDay, MonitoringGap, WorkerHeartbeat

Gap = tuple[dt.datetime, dt.datetime]


def _last_checks_before() -> dt.datetime | None:
    """When checks last ran (any worker), else when the first active check was created."""
    last = db.session.scalar(select(func.max(WorkerHeartbeat.last_checks_at)))
    if last is not None:
        return last
    return db.session.scalar(select(func.min(Check.created_at)).where(Check.archived_at.is_(None)))


def record_checks_ran(at: dt.datetime | None, stale_after: int) -> Gap | None:
    """A worker ran checks at ``at``: if nobody had run any for longer than ``stale_after`` seconds
    before, record that stretch as a gap and return it. Call before the heartbeat stores ``at``.

    Daily uptime rollups of the days the gap touches are dropped (the rollup job recomputes them).
    Runs in the caller's transaction (the heartbeat commits).
    """
    if at is None:
        return None
    before = _last_checks_before()
    if before is None or (at - before).total_seconds() <= stale_after:
        return None
    db.session.execute(insert_ignore(MonitoringGap.__table__).on_conflict_do_nothing(),
                       [{"started_at": before, "ended_at": at, "recorded_at": utcnow()}])
    # Rollup days are local days of the page's zone: a day of margin on each side covers any zone.
    db.session.execute(delete(ComponentUptimeDay).where(
        ComponentUptimeDay.day >= before.date() - dt.timedelta(days=1),
        ComponentUptimeDay.day <= at.date() + dt.timedelta(days=1)))
    return before, at


def ongoing_gap(stale_after: int, now: dt.datetime | None = None) -> Gap | None:
    """[when checks last ran, now) while no worker has run checks for ``stale_after`` seconds."""
    now = now or utcnow()
    if db.session.scalar(select(Check.id).where(Check.archived_at.is_(None)).limit(1)) is None:
        return None
    before = _last_checks_before()
    if before is None or (now - before).total_seconds() <= stale_after:
        return None
    return before, now


def recorded_gaps(start: dt.datetime, end: dt.datetime) -> list[Gap]:
    """Recorded gaps overlapping [start, end), unclipped."""
    return [(s, e) for s, e in db.session.execute(
        select(MonitoringGap.started_at, MonitoringGap.ended_at)
        .where(MonitoringGap.started_at < end, MonitoringGap.ended_at > start)).all()]


def merge_gaps(gaps: Iterable[Gap], start: dt.datetime | None = None, end: dt.datetime | None = None) -> list[Gap]:
    """Gaps (or any holes) sorted, overlapping ones merged, clipped to [start, end) when given."""
    merged: list[Gap] = []
    for s, e in sorted((max(s, start) if start else s, min(e, end) if end else e) for s, e in gaps):
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def gaps_between(start: dt.datetime, end: dt.datetime, *, stale_after: int,
                 now: dt.datetime | None = None) -> list[Gap]:
    """Gaps overlapping [start, end), recorded and ongoing, clipped to it, sorted and merged."""
    now = now or utcnow()
    gaps = recorded_gaps(start, end)
    live = ongoing_gap(stale_after, now)
    if live is not None:
        gaps.append(live)
    return merge_gaps(gaps, start, end)


def checked_component_ids() -> set[int]:
    """Components whose status comes from checks (at least one active check): gaps apply to them only."""
    return set(db.session.scalars(select(Check.component_id).where(Check.archived_at.is_(None),
                                                                    Check.component_id.is_not(None))
                                  .distinct()))
