"""Scheduled maintenance: the only place a maintenance window changes state.

A maintenance is an ``Incident`` with kind=maintenance and status scheduled → in_progress
(→ verifying) → completed, or cancelled. ``advance_maintenance`` (run by the worker every 30 s) moves
windows by the clock and sends reminders; each move is a compare-and-set on the status so any number
of workers can run it. While a window is in progress its components are under_maintenance (see
``incidents.status``) and ``status.is_under_maintenance`` tells the checks engine to hold alerts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, update

from ...db import utcnow
from ...extensions import db
from ...models import Component, Incident, IncidentComponent
from ...models.constants import OPEN_MAINTENANCE_STATUSES
from ...templating import local_time
from ..audit import Actor, record
from ..notifications import events as notify
from ..page import bump_site_version, get_page
from .lifecycle import (
    IncidentError,
    check_text,
    find_component,
    new_public_id,
    new_update,
    recompute,
    snapshot,
)

MANUAL_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
MAX_WINDOW = dt.timedelta(days=30)


@dataclass
class AdvanceReport:
    """What one run of `advance_maintenance` did (public ids)."""

    reminded: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)


def _components(ids: Iterable) -> list[Component]:
    comps = []
    for key in ids:
        comp = find_component(key)
        if comp is None or comp.archived_at is not None:
            raise IncidentError(f"unknown component {key!r}", "components")
        if comp not in comps:
            comps.append(comp)
    return comps


def _check_window(start: dt.datetime, end: dt.datetime) -> None:
    if start is None or end is None or start.tzinfo is None or end.tzinfo is None:
        raise IncidentError("the window needs a start and an end with a time zone", "scheduled_for")
    if end <= start:
        raise IncidentError("the window must end after it starts", "scheduled_until")
    if end - start > MAX_WINDOW:
        raise IncidentError("a maintenance window is at most 30 days", "scheduled_until")


def schedule_maintenance(*, name: str, scheduled_for: dt.datetime, scheduled_until: dt.datetime,
                         components: Iterable, body: str = "", auto_transition: bool = True,
                         reminder_minutes: int | None = 60, notify_subscribers: bool = True, actor: Actor,
                         now: dt.datetime | None = None) -> Incident:
    """Schedule (and publish) a maintenance window on some components."""
    now = now or utcnow()
    if not name or not name.strip() or len(name) > 300:
        raise IncidentError("name is required (at most 300 characters)", "name")
    check_text(name, body)
    _check_window(scheduled_for, scheduled_until)
    if reminder_minutes is not None and not 0 <= reminder_minutes <= 7 * 24 * 60:
        raise IncidentError("reminder must be between 0 minutes and 7 days before", "reminder_minutes")
    comps = _components(components)
    if not comps:
        raise IncidentError("choose at least one component", "components")
    m = Incident(public_id=new_public_id(), kind="maintenance", name=name.strip(), status="scheduled",
                 impact="maintenance", source="manual" if actor.type == "user" else actor.type,
                 notify=notify_subscribers, created_at=now, published_at=now, scheduled_for=scheduled_for,
                 scheduled_until=scheduled_until, auto_transition=auto_transition,
                 reminder_minutes=reminder_minutes,
                 created_by_id=actor.id if actor.type == "user" else None)
    db.session.add(m)
    for comp in comps:
        m.components.append(IncidentComponent(component_id=comp.id, status="under_maintenance"))
    first = new_update(m, "scheduled", body, actor, now, notify_flag=notify_subscribers)
    db.session.flush()
    record(actor, "maintenance.schedule", "maintenance", m.public_id,
           after={**snapshot(m), "window": [scheduled_for, scheduled_until],
                  "components": [c.slug for c in comps]})
    if notify_subscribers:
        notify.notify_event("maintenance_scheduled", m, first)
    bump_site_version()
    # A window that starts now (or in the past) starts at once.
    if auto_transition and scheduled_for <= now:
        _move(m, "scheduled", "in_progress", now, actor, auto=True)
    db.session.commit()
    return m


def _move(m: Incident, old: str, new: str, now: dt.datetime, actor: Actor, *, body: str | None = None,
          auto: bool = False, notify_flag: bool | None = None) -> bool:
    """Compare-and-set the status; on success write the update, recompute components, notify."""
    result = db.session.execute(update(Incident).where(Incident.id == m.id, Incident.status == old)
                                .values(status=new, updated_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    db.session.refresh(m, ["status"])
    default_text = {
        "in_progress": "Scheduled maintenance is now in progress. We will provide updates as necessary.",
        "verifying": "Maintenance work is done; we are verifying the results.",
        "completed": "The scheduled maintenance has been completed.",
        "cancelled": "This scheduled maintenance has been cancelled.",
        "scheduled": "The maintenance has been rescheduled.",
    }[new]
    flag = m.notify if notify_flag is None else notify_flag
    upd = new_update(m, new, body if body is not None and body.strip() else default_text, actor, now,
                      notify_flag=flag)
    if new == "in_progress" and m.started_at is None:
        m.started_at = now
    if new in ("completed", "cancelled"):
        m.resolved_at = now
    db.session.flush()
    recompute(m, now)
    record(actor, f"maintenance.{new}", "maintenance", m.public_id, before={"status": old},
           after={"status": new, "auto": auto, "update": upd.public_id})
    event = {"in_progress": "maintenance_started", "completed": "maintenance_completed",
             "cancelled": "maintenance_cancelled"}.get(new)
    if event and flag:
        notify.notify_event(event, m, upd)
    bump_site_version()
    return True


def advance_maintenance(now: dt.datetime | None = None) -> AdvanceReport:
    """Send due reminders and move windows by the clock: scheduled → in_progress → completed."""
    now = now or utcnow()
    report = AdvanceReport()
    actor = Actor.system("scheduler")
    due = db.session.scalars(select(Incident).where(
        Incident.kind == "maintenance", Incident.status.in_(OPEN_MAINTENANCE_STATUSES), Incident.published_at.is_not(None))
        .order_by(Incident.scheduled_for)).all()
    for m in due:
        if (m.status == "scheduled" and m.reminder_minutes and m.reminded_at is None
                and m.scheduled_for - dt.timedelta(minutes=m.reminder_minutes) <= now < m.scheduled_for):
            claimed = db.session.execute(
                update(Incident).where(Incident.id == m.id, Incident.reminded_at.is_(None))
                .values(reminded_at=now).execution_options(synchronize_session=False))
            if claimed.rowcount == 1:
                db.session.refresh(m, ["reminded_at"])
                record(actor, "maintenance.reminder", "maintenance", m.public_id)
                if m.notify:
                    notify.notify_event("maintenance_reminder", m, None)
                report.reminded.append(m.public_id)
        if not m.auto_transition:
            continue
        if m.status == "scheduled" and m.scheduled_for <= now:
            if _move(m, "scheduled", "in_progress", now, actor, auto=True):
                report.started.append(m.public_id)
        if m.is_active_maintenance and m.scheduled_until <= now:
            if _move(m, m.status, "completed", now, actor, auto=True):
                report.completed.append(m.public_id)
        db.session.commit()
    db.session.commit()
    return report


def post_maintenance_update(m: Incident, *, status: str, body: str = "", notify_subscribers: bool = True,
                            actor: Actor, now: dt.datetime | None = None) -> Incident:
    """A person moves a window by hand (start early, verifying, complete) or posts a note on it."""
    now = now or utcnow()
    check_text(None, body)
    if m.kind != "maintenance":
        raise IncidentError("not a maintenance", "status")
    if status not in MANUAL_STATUSES:
        raise IncidentError(f"status must be one of {', '.join(MANUAL_STATUSES)}", "status")
    if m.status in ("completed", "cancelled"):
        raise IncidentError(f"the maintenance is {m.status}", "status", code="conflict")
    if status == m.status:
        if not body.strip():
            raise IncidentError("an update needs a body or a new status", "body")
        upd = new_update(m, status, body, actor, now, notify_flag=notify_subscribers)
        db.session.flush()
        record(actor, "maintenance.update", "maintenance", m.public_id, after={"update": upd.public_id})
        bump_site_version()
    elif status == "scheduled":
        raise IncidentError("a started maintenance cannot go back to scheduled", "status", code="conflict")
    else:
        if not _move(m, m.status, status, now, actor, body=body, notify_flag=notify_subscribers):
            raise IncidentError("the maintenance changed meanwhile; reload", "status", code="conflict")
    db.session.commit()
    return m


def extend_maintenance(m: Incident, *, until: dt.datetime, body: str = "", actor: Actor,
                       now: dt.datetime | None = None) -> Incident:
    """Move the end of the window (usually later) and say so in an update."""
    now = now or utcnow()
    check_text(None, body)
    if m.kind != "maintenance" or not m.is_open:
        raise IncidentError("only an open maintenance can be extended", "scheduled_until", code="conflict")
    _check_window(m.scheduled_for, until)
    if until <= now and m.is_active_maintenance:
        raise IncidentError("the new end must be in the future", "scheduled_until")
    before = {"scheduled_until": m.scheduled_until}
    m.scheduled_until = until
    text = body.strip() or (f"The maintenance window has been extended until "
                            f"{local_time(until, get_page().tz, '%Y-%m-%d %H:%M')}.")
    upd = new_update(m, m.status, text, actor, now, notify_flag=m.notify)
    db.session.flush()
    record(actor, "maintenance.extend", "maintenance", m.public_id, before=before,
           after={"scheduled_until": until, "update": upd.public_id})
    if m.notify:
        notify.notify_event("incident_updated", m, upd)
    bump_site_version()
    db.session.commit()
    return m


def cancel_maintenance(m: Incident, *, body: str = "", actor: Actor, now: dt.datetime | None = None) -> Incident:
    """Cancel a scheduled or running window with an update; components return to their checks."""
    now = now or utcnow()
    check_text(None, body)
    if m.kind != "maintenance" or not m.is_open:
        raise IncidentError("only an open maintenance can be cancelled", "status", code="conflict")
    if not _move(m, m.status, "cancelled", now, actor, body=body):
        raise IncidentError("the maintenance changed meanwhile; reload", "status", code="conflict")
    db.session.commit()
    return m


def upcoming_maintenance(now: dt.datetime | None = None, limit: int = 20) -> list[Incident]:
    """Open windows (scheduled or running), soonest first."""
    return list(db.session.scalars(select(Incident).where(
        Incident.kind == "maintenance", Incident.status.in_(OPEN_MAINTENANCE_STATUSES)).order_by(Incident.scheduled_for)
        .limit(limit)))
