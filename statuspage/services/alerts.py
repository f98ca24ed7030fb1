"""What happens when checks change a component's status: auto-incidents and on-call alerts.

Held while a check flaps, and suppressed for components inside an active maintenance window.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from ..extensions import db
from ..models import Check, Component, Incident, IncidentComponent, OutboxMessage
from .site import get_page

log = logging.getLogger("statuspage.alerts")


def in_maintenance(component_id: int, now: dt.datetime) -> bool:
    """Whether a published maintenance covers the component now (in progress, or inside its window)."""
    rows = db.session.execute(
        select(Incident.status, Incident.scheduled_for, Incident.scheduled_until)
        .join(IncidentComponent, IncidentComponent.incident_id == Incident.id)
        .where(Incident.kind == "maintenance", IncidentComponent.component_id == component_id,
               Incident.published_at.is_not(None),
               Incident.status.in_(("scheduled", "in_progress", "verifying")))).all()
    for status, start, end in rows:
        if status in ("in_progress", "verifying"):
            return True
        if start is not None and end is not None and start <= now < end:
            return True
    return False


def on_component_check_status(comp: Component, old: str, new: str, entries, now: dt.datetime, *,
                              notify: bool) -> None:
    """Called by the monitor inside its transaction when checks move a component's status."""
    if not notify or old == new:
        return
    if in_maintenance(comp.id, now):
        log.info("component %s → %s during maintenance: no alert, no auto-incident", comp.slug, new)
        return
    failing = [(item, result) for item, result, transition in entries if transition.new_status != "up"]
    if new != "operational":
        claimed, result = (failing[0] if failing else (entries[0][0], entries[0][1]))
        check = db.session.get(Check, claimed.id, populate_existing=True)
        if comp.auto_incident != "off" and check is not None:
            from . import incidents

            incidents.open_auto_incident(comp, check, result.to_dict(), now,
                                         publish=comp.auto_incident == "publish")
        alert_on_call(comp, new, claimed.slug, result.to_dict(), now)
    else:
        if comp.auto_incident != "off":
            from . import incidents

            incidents.on_component_recovered(comp, now)
        alert_on_call(comp, new, None, None, now)


def alert_on_call(comp: Component, status: str, check_slug: str | None, result: dict | None,
                  now: dt.datetime) -> None:
    """Queue an email to the page's on-call address (through the outbox, like every message)."""
    page = get_page()
    if not page.on_call:
        return
    db.session.add(OutboxMessage(
        dedupe_key=f"oncall:{comp.id}:{status}:{int(now.timestamp() * 1000)}", channel="email",
        kind="oncall_alert", audience="oncall", recipient=page.on_call,
        payload={"component": comp.slug, "component_name": comp.name, "status": status, "check": check_slug,
                 "result": result, "at": now.isoformat()},
        next_attempt_at=now))
