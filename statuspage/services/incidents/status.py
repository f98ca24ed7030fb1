"""Component status: the one place where a component's status changes and its interval rows are written.

Precedence: an open, published incident that sets a status on the component wins; otherwise an
in-progress maintenance makes it under_maintenance; otherwise it is what its checks say. Runs in the
caller's transaction (incident, maintenance, check and component services commit).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ...db import utcnow
from ...extensions import db
from ...models import Component, ComponentStatusInterval, Incident, IncidentComponent
from ...models.constants import (
    ACTIVE_MAINTENANCE_STATUSES,
    COMPONENT_STATUSES,
    OPEN_INCIDENT_STATUSES,
    worst_status,
)
from ..page import bump_site_version
from ..uptime import invalidate_uptime_days


def open_initial_interval(comp: Component, now: dt.datetime) -> None:
    """A new component starts with an open interval in its initial status."""
    db.session.add(ComponentStatusInterval(component_id=comp.id, status=comp.status,
                                           source=comp.status_source, started_at=now))


def _override(comp: Component) -> tuple[str, str, int | None] | None:
    """(status, source, incident_id) set by an open incident or an in-progress maintenance, if any."""
    rows = db.session.execute(
        select(IncidentComponent.status, Incident.kind, Incident.status, Incident.id)
        .join(Incident, Incident.id == IncidentComponent.incident_id)
        .where(IncidentComponent.component_id == comp.id, Incident.published_at.is_not(None),
               Incident.status.in_(OPEN_INCIDENT_STATUSES + ACTIVE_MAINTENANCE_STATUSES))
    ).all()
    incident_rows = [r for r in rows if r[1] == "incident" and r[2] in OPEN_INCIDENT_STATUSES]
    if incident_rows:
        status = worst_status(r[0] for r in incident_rows)
        inc_id = next(r[3] for r in incident_rows if r[0] == status)
        return status, "incident", inc_id
    maint = [r for r in rows if r[1] == "maintenance" and r[2] in ACTIVE_MAINTENANCE_STATUSES]
    if maint:
        return "under_maintenance", "maintenance", maint[0][3]
    return None


def recompute_component_status(comp: Component, now: dt.datetime | None = None, *,
                               note: str | None = None, check_id: int | None = None) -> bool:
    """Set the component's effective status from incidents, maintenance and checks.

    Writes a status interval row and bumps the site version when it changes; returns whether it did.
    """
    now = now or utcnow()
    override = _override(comp)
    if override is not None:
        status, source, incident_id = override
    else:
        status, source, incident_id = comp.check_status, "check", None
    if status == comp.status and source == comp.status_source:
        return False
    _write_interval(comp, status, source, now, incident_id=incident_id, check_id=check_id, note=note)
    return True


def set_check_status(comp: Component, status: str, now: dt.datetime | None = None, *,
                     check_id: int | None = None) -> bool:
    """Record what the checks say about a component and recompute its effective status."""
    if status not in COMPONENT_STATUSES:
        raise ValueError(f"unknown component status {status!r}")
    comp.check_status = status
    return recompute_component_status(comp, now, check_id=check_id)


def set_manual_status(comp: Component, status: str, now: dt.datetime | None = None) -> bool:
    """An operator sets a status by hand (no incident); it holds until checks next change it.

    In the caller's transaction (``incidents.components.set_component_status`` audits and commits).
    Returns whether the effective status changed (an open incident or maintenance keeps precedence).
    """
    if status not in COMPONENT_STATUSES:
        raise ValueError(f"unknown component status {status!r}")
    now = now or utcnow()
    comp.check_status = status
    if _override(comp) is None and (comp.status != status or comp.status_source != "manual"):
        _write_interval(comp, status, "manual", now)
        return True
    return False


def _write_interval(comp: Component, status: str, source: str, now: dt.datetime, *,
                    incident_id: int | None = None, check_id: int | None = None, note: str | None = None) -> None:
    open_rows = db.session.scalars(
        select(ComponentStatusInterval)
        .where(ComponentStatusInterval.component_id == comp.id, ComponentStatusInterval.ended_at.is_(None))
    ).all()
    for row in open_rows:
        row.ended_at = max(now, row.started_at)
    db.session.add(ComponentStatusInterval(
        component_id=comp.id, status=status, source=source, incident_id=incident_id,
        check_id=check_id, note=note, started_at=now))
    changed_publicly = comp.status != status
    comp.status = status
    comp.status_source = source
    if changed_publicly and comp.public:
        bump_site_version()


def is_under_maintenance(component_id: int, now: dt.datetime | None = None) -> bool:
    """Whether a published maintenance covers the component now (checks hold alerts and auto-incidents).

    True while a window is in progress or verifying, and also inside a scheduled window that the
    worker has not started yet.
    """
    now = now or utcnow()
    row = db.session.execute(
        select(Incident.id).join(IncidentComponent, IncidentComponent.incident_id == Incident.id)
        .where(IncidentComponent.component_id == component_id, Incident.kind == "maintenance",
               Incident.published_at.is_not(None),
               (Incident.status.in_(ACTIVE_MAINTENANCE_STATUSES))
               | ((Incident.status == "scheduled") & (Incident.scheduled_for <= now)
                  & (Incident.scheduled_until > now)))
        .limit(1)).first()
    return row is not None


Segment = tuple[dt.datetime, dt.datetime, str]


def backfill_history(comp: Component, segments: list[Segment], *, source: str, note: str | None = None) -> bool:
    """Replace the component's past intervals of ``source`` (e.g. "import") with ``segments``.

    For history from elsewhere (another status page): the segments must lie before the component's
    own first interval, so live history is never touched. The rollups of every day whose intervals
    change are dropped and computed again by the next rollup run. Returns whether anything changed.
    Flushes, does not commit.
    """
    if source in ("check", "incident", "maintenance", "manual"):
        raise ValueError("backfilled history needs a source of its own")
    live_start = db.session.scalar(select(func.min(ComponentStatusInterval.started_at)).where(
        ComponentStatusInterval.component_id == comp.id, ComponentStatusInterval.source != source))
    for start, end, status in segments:
        if status not in COMPONENT_STATUSES or end <= start or (live_start is not None and end > live_start):
            raise ValueError(f"bad backfill segment {start} – {end} {status}")
    existing = db.session.scalars(select(ComponentStatusInterval).where(
        ComponentStatusInterval.component_id == comp.id, ComponentStatusInterval.source == source)
        .order_by(ComponentStatusInterval.started_at)).all()
    if [(r.started_at, r.ended_at, r.status) for r in existing] == list(segments):
        return False
    days = [moment.date() for r in existing for moment in (r.started_at, r.ended_at or r.started_at)]
    days += [moment.date() for start, end, _ in segments for moment in (start, end)]
    for row in existing:
        db.session.delete(row)
    for start, end, status in segments:
        db.session.add(ComponentStatusInterval(component_id=comp.id, status=status, source=source, note=note,
                                               started_at=start, ended_at=end))
    db.session.flush()
    if days:
        invalidate_uptime_days(comp.id, min(days), max(days))
    if comp.public:
        bump_site_version()
    return True
