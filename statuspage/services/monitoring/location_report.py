"""What the operator surface shows of probe locations (issue 14): the console's /admin/locations, a check's
per-location table, /api/v1/locations, the Prometheus gauges and ``statuspage locations`` all read here.

Read only. Freshness is computed at read time from ``last_report_at`` and the location's staleness
limit (the sweep job's ``stale_since`` is used when it has run), so a page shows the truth even while
no worker is running. The local worker's location has no agent: its "last report" is the newest
worker heartbeat that ran checks, its limit ``STATUSPAGE_MONITORING_STALE_AFTER``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ...db import utcnow
from ...extensions import db
from ...models import Check, CheckLocation, ProbeLocation, WorkerHeartbeat
from .locations import (
    assigned_counts,
    local_location,
    location_views,
    reported_within,
    settings,
    stale_after,
    uses_locations,
)

FRESH, STALE, NEVER = "fresh", "stale", "never"


@dataclass
class LocationSummary:
    """One location as the operator sees it."""

    slug: str
    name: str | None
    local: bool
    state: str  # fresh | stale | never (reported)
    stale_after_seconds: float
    last_report_at: dt.datetime | None = None
    age_seconds: float | None = None  # since the last report
    stale_since: dt.datetime | None = None
    lag_seconds: float | None = None
    agent_version: str | None = None
    agent_host: str | None = None
    agent_address: str | None = None
    checks_assigned: int = 0
    buffer_depth: int | None = None
    oldest_buffered_at: dt.datetime | None = None
    dropped: int | None = None
    results_received: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.slug})" if self.name and self.name != self.slug else self.slug


def _local_summary(row: ProbeLocation | None, assigned: int, now: dt.datetime) -> LocationSummary:
    limit = float(settings().monitoring_stale_after)
    last = db.session.scalar(select(func.max(WorkerHeartbeat.last_checks_at)))
    hosts = db.session.scalars(select(WorkerHeartbeat.hostname).distinct().where(
        WorkerHeartbeat.stopped_at.is_(None), WorkerHeartbeat.last_seen_at > now - dt.timedelta(seconds=60))
        .order_by(WorkerHeartbeat.hostname)).all()
    runs = db.session.scalar(select(func.sum(WorkerHeartbeat.checks_run)).where(
        WorkerHeartbeat.stopped_at.is_(None), WorkerHeartbeat.last_seen_at > now - dt.timedelta(seconds=60)))
    out = LocationSummary(slug=local_location(), name=row.name if row else None, local=True, state=NEVER,
                          stale_after_seconds=limit, checks_assigned=assigned, agent_version="worker",
                          agent_host=", ".join(h for h in hosts if h) or None,
                          results_received=int(runs) if runs is not None else None)
    _freshness(out, last, None, now)
    return out


def _freshness(out: LocationSummary, last: dt.datetime | None, stale_since: dt.datetime | None,
               now: dt.datetime) -> None:
    out.last_report_at = last
    if last is None:
        out.state = NEVER
        return
    out.age_seconds = max(0.0, (now - last).total_seconds())
    if reported_within(last, out.stale_after_seconds, now):
        out.state = FRESH
    else:
        out.state = STALE
        # The sweep's own record when it ran; else the moment the limit passed.
        out.stale_since = stale_since or last + dt.timedelta(seconds=out.stale_after_seconds)


def _summary(row: ProbeLocation, assigned: int, now: dt.datetime) -> LocationSummary:
    out = LocationSummary(
        slug=row.slug, name=row.name, local=False, state=NEVER, stale_after_seconds=stale_after(row),
        lag_seconds=row.last_lag_seconds, agent_version=row.agent_version, agent_host=row.agent_host,
        agent_address=row.agent_address, checks_assigned=assigned, buffer_depth=row.buffer_depth,
        oldest_buffered_at=row.oldest_buffered_at, dropped=row.dropped, results_received=row.results_received or 0)
    _freshness(out, row.last_report_at, row.stale_since, now)
    return out


def location_summaries(now: dt.datetime | None = None) -> list[LocationSummary]:
    """Every location: the local worker's first, then the agents' by name (rows, and names checks use)."""
    now = now or utcnow()
    local = local_location()
    rows = {r.slug: r for r in db.session.scalars(select(ProbeLocation))}
    assigned = assigned_counts()
    out = [_local_summary(rows.get(local), assigned.get(local, 0), now)]
    for slug in sorted((set(rows) | set(assigned)) - {local}):
        row = rows.get(slug) or ProbeLocation(slug=slug, results_received=0)
        out.append(_summary(row, assigned.get(slug, 0), now))
    return out


def location_summary(slug: str, now: dt.datetime | None = None) -> LocationSummary | None:
    """One location by its slug, or None when no row or check names it."""
    return next((s for s in location_summaries(now) if s.slug == slug), None)


# --- one check, per location ---------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (None without values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class CheckLocationSummary:
    """One check as seen from one location: its status, freshness, last run and recent latency."""

    location: str
    status: str
    since: dt.datetime | None
    fresh: bool
    last_run_at: dt.datetime | None
    p50_ms: float | None
    p95_ms: float | None
    outcome: str | None
    latency_ms: float | None
    message: str
    error_class: str | None
    conditions: list = field(default_factory=list)


def check_location_summaries(check: Check, now: dt.datetime | None = None) -> list[CheckLocationSummary]:
    """Each of a multi-location check's locations (empty for a check probed by the local worker alone)."""
    if not uses_locations(check.locations):
        return []
    now = now or utcnow()
    cls = db.session.scalars(select(CheckLocation).where(CheckLocation.check_id == check.id)).all()
    locs = {r.slug: r for r in db.session.scalars(select(ProbeLocation))}
    by_name = {cl.location: cl for cl in cls}
    out = []
    for view in location_views(check, list(cls), locs, now):
        cl = by_name.get(view.name)
        last = (cl.last_result if cl is not None else None) or {}
        latencies = [float(v) for v in ((cl.recent_latency if cl is not None else None) or [])]
        out.append(CheckLocationSummary(
            location=view.name, status=view.status, since=view.since, fresh=view.fresh,
            last_run_at=cl.last_run_at if cl is not None else None,
            p50_ms=percentile(latencies, 50), p95_ms=percentile(latencies, 95),
            outcome=last.get("outcome"), latency_ms=last.get("latency_ms"), message=last.get("message") or "",
            error_class=last.get("error_class"), conditions=list(last.get("conditions") or [])))
    return out


def check_notes(check: Check, summaries: list[CheckLocationSummary] | None = None) -> list[str]:
    """What a list of checks says next to a multi-location check whose status alone would mislead:
    failures below the quorum, and too few fresh locations to decide."""
    notes = []
    partial = check.partial_failures or []
    if partial:
        names = ", ".join(p.get("location", "?") for p in partial)
        notes.append(f"failing from {names} (below quorum)")
    if check.monitoring_delayed:
        if summaries is None:
            summaries = check_location_summaries(check)
        fresh = sum(1 for s in summaries if s.fresh and s.status != "unknown")
        notes.append(f"monitoring data delayed: only {fresh} of {len(summaries)} locations fresh")
    return notes


@dataclass(frozen=True)
class CheckLocationState:
    """One (check, location) for the metrics: its status and whether it counts (fresh)."""

    check: str
    location: str
    status: str
    fresh: bool
    monitoring_delayed: bool
    partial: bool  # failing below the quorum


def check_location_states(now: dt.datetime | None = None) -> list[CheckLocationState]:
    """Every active multi-location check × its locations, in a few queries (for /metrics)."""
    now = now or utcnow()
    checks = [c for c in db.session.scalars(select(Check).where(Check.archived_at.is_(None),
                                                                Check.kind != "heartbeat").order_by(Check.slug))
              if uses_locations(c.locations)]
    if not checks:
        return []
    cls_by_check: dict[int, list[CheckLocation]] = {}
    for cl in db.session.scalars(select(CheckLocation).where(CheckLocation.check_id.in_([c.id for c in checks]))):
        cls_by_check.setdefault(cl.check_id, []).append(cl)
    locs = {r.slug: r for r in db.session.scalars(select(ProbeLocation))}
    out = []
    for check in checks:
        partial = {p.get("location") for p in check.partial_failures or []}
        for view in location_views(check, cls_by_check.get(check.id, []), locs, now):
            out.append(CheckLocationState(check.slug, view.name, view.status, view.fresh,
                                          bool(check.monitoring_delayed), view.name in partial))
    return out
