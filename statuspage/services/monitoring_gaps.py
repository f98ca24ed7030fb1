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

**Per-component delays.** A check probed from several locations whose quorum cannot be decided (too few
fresh locations: ``Check.monitoring_delayed``) leaves its component unmeasured, exactly like a gap, but
for that component alone: the public page says "Monitoring data delayed", and uptime must not count the
time at the component's last status. A component is delayed while any of its active checks is; each
stretch is a ``ComponentMonitoringDelay`` row, opened and closed by :func:`sync_component_delays` in the
transaction that flips the flag (``monitoring.locations.decide_checks``), ``ended_at`` NULL while it goes
on. Read by :func:`component_delays`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, func, or_, select, update

from ..db import insert_ignore, utcnow
from ..extensions import db
from ..models import Check, ComponentMonitoringDelay, ComponentUptimeDay, MonitoringGap, WorkerHeartbeat

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


# --- per-component delays (quorum not decidable) --------------------------------------------------------

DELAY = ComponentMonitoringDelay.__table__


def delayed_components(component_ids: Iterable[int] | None = None) -> set[int]:
    """Components with an active check whose quorum cannot be decided now (all, or among ``component_ids``)."""
    stmt = (select(Check.component_id).where(Check.archived_at.is_(None), Check.monitoring_delayed.is_(True),
                                             Check.component_id.is_not(None)).distinct())
    if component_ids is not None:
        stmt = stmt.where(Check.component_id.in_(list(component_ids)))
    return set(db.session.scalars(stmt))


def sync_component_delays(component_ids: Iterable[int], now: dt.datetime) -> tuple[list[int], list[int]]:
    """Make each component's open delay match its checks: open one at ``now`` when it is delayed and has
    none open, close the open ones at ``now`` when it is not delayed any more. Idempotent: a second
    open while one is open, or a close with none open, does nothing. Returns (opened, closed) ids.

    Closing drops the daily uptime rollups of the days the delay touched, for that component (the
    rollup job recomputes them). Runs in the caller's transaction (reads the checks' flags as flushed).
    """
    ids = sorted({c for c in component_ids if c is not None})
    if not ids:
        return [], []
    delayed = delayed_components(ids)
    open_rows = db.session.execute(
        select(DELAY.c.component_id, DELAY.c.started_at)
        .where(DELAY.c.component_id.in_(ids), DELAY.c.ended_at.is_(None))
        .order_by(DELAY.c.component_id, DELAY.c.started_at)).all()
    already_open = {cid for cid, _ in open_rows}
    opened = sorted(delayed - already_open)
    if opened:
        # Two transactions opening the same component's delay at the same instant keep one row; at
        # different instants both stay open and overlap (reads merge them; closing closes both).
        db.session.execute(insert_ignore(DELAY).on_conflict_do_nothing(),
                           [{"component_id": cid, "started_at": now, "ended_at": None} for cid in opened])
    closed = []
    for cid, started in open_rows:
        if cid in delayed:
            continue
        closed.append(cid)
        row = (DELAY.c.component_id == cid, DELAY.c.started_at == started, DELAY.c.ended_at.is_(None))
        if now <= started:
            # Decided again the instant it began (one batch's locations reporting one after another):
            # nothing went unmeasured, so no stretch is kept.
            db.session.execute(delete(DELAY).where(*row))
            continue
        db.session.execute(update(DELAY).where(*row).values(ended_at=now))
        # Rollup days are local days of the page's zone: a day of margin on each side covers any zone.
        db.session.execute(delete(ComponentUptimeDay).where(
            ComponentUptimeDay.component_id == cid,
            ComponentUptimeDay.day >= started.date() - dt.timedelta(days=1),
            ComponentUptimeDay.day <= now.date() + dt.timedelta(days=1)))
    return opened, sorted(set(closed))


def reconcile_component_delays(now: dt.datetime) -> tuple[list[int], list[int]]:
    """:func:`sync_component_delays` for every component that is delayed or has a delay open — also
    closes the delay of a component whose delayed check was archived or moved off locations. In the
    caller's transaction."""
    open_ids = set(db.session.scalars(select(DELAY.c.component_id).where(DELAY.c.ended_at.is_(None)).distinct()))
    return sync_component_delays(open_ids | delayed_components(), now)


def component_delays(component_ids: Iterable[int], start: dt.datetime, end: dt.datetime,
                     now: dt.datetime) -> dict[int, list[Gap]]:
    """Each component's delays overlapping [start, min(end, now)), an ongoing one running until ``now``,
    clipped, sorted and merged (components without any are left out)."""
    ids = list(component_ids)
    stop = min(end, now)
    if not ids or stop <= start:
        return {}
    per: dict[int, list[Gap]] = {}
    for cid, s, e in db.session.execute(
            select(DELAY.c.component_id, DELAY.c.started_at, DELAY.c.ended_at)
            .where(DELAY.c.component_id.in_(ids), DELAY.c.started_at < stop,
                   or_(DELAY.c.ended_at.is_(None), DELAY.c.ended_at > start))).all():
        per.setdefault(cid, []).append((s, e or now))
    out = {cid: merge_gaps(gaps, start, stop) for cid, gaps in per.items()}
    return {cid: gaps for cid, gaps in out.items() if gaps}
