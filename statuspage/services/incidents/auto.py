"""Auto-incidents: drafts (or published incidents) opened by the checks engine, resolved when quiet.

``open_auto_incident`` and ``on_component_recovered`` only flush: they join the checks engine's
transaction (``monitoring.results``), so a status change and its incident commit together.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ...db import utcnow
from ...extensions import db
from ...models import (
    Check,
    Component,
    Incident,
    IncidentCheck,
    IncidentComponent,
)
from ...models.constants import COMPONENT_STATUSES, OPEN_INCIDENT_STATUSES, STATUS_LABELS
from ..audit import Actor, record
from ..notifications import events as notify
from ..page import bump_site_version
from .lifecycle import apply_component_statuses, new_public_id, new_update, post_update, recompute, snapshot
from .status import is_under_maintenance

# An auto-incident's impact from the status its check puts on the component.
IMPACT_FOR_STATUS = {"major_outage": "major", "partial_outage": "minor", "degraded_performance": "minor",
                     "under_maintenance": "none", "operational": "none"}


def _open_auto_incident_for(component: Component) -> Incident | None:
    return db.session.scalar(
        select(Incident).join(IncidentComponent, IncidentComponent.incident_id == Incident.id)
        .where(IncidentComponent.component_id == component.id, Incident.kind == "incident",
               Incident.source == "auto", Incident.status.in_(OPEN_INCIDENT_STATUSES))
        .order_by(Incident.created_at.desc()).limit(1))


def open_auto_incident(component: Component, check: Check, result: dict, now: dt.datetime,
                       publish: bool) -> Incident | None:
    """Open (or join) the auto-incident for a component whose check went down; flushes, does not commit.

    Returns None when the component is under maintenance or has auto-incidents off. An already open
    auto-incident on the component gets the check linked instead of a second incident. The check's
    resolved conditions are kept on the IncidentCheck row for the on-call engineer.
    """
    if component.auto_incident == "off" or is_under_maintenance(component.id, now):
        return None
    actor = Actor.system("checks")
    existing = _open_auto_incident_for(component)
    if existing is not None:
        linked = db.session.scalar(select(IncidentCheck).where(IncidentCheck.incident_id == existing.id,
                                                                IncidentCheck.check_id == check.id))
        if linked is None:
            db.session.add(IncidentCheck(incident_id=existing.id, check_id=check.id, result=result,
                                         created_at=now))
            db.session.flush()
        return existing
    status = check.on_down if check.status != "degraded" else "degraded_performance"
    if status not in COMPONENT_STATUSES:
        status = "major_outage"
    label = STATUS_LABELS.get(status, status).lower()
    incident = Incident(public_id=new_public_id(), kind="incident",
                        name=f"{component.name}: {label}", status="investigating",
                        impact=IMPACT_FOR_STATUS.get(status, "minor"), source="auto", notify=True,
                        created_at=now, started_at=_first_failure(result, now), detected_at=now,
                        published_at=now if publish else None)
    db.session.add(incident)
    body = (f"Our automated checks detected a problem with {component.name}. "
            "We are investigating and will post an update soon.")
    update = new_update(incident, "investigating", body, actor, now, notify_flag=True)
    apply_component_statuses(incident, update, {component: status})
    db.session.flush()
    db.session.add(IncidentCheck(incident_id=incident.id, check_id=check.id, result=result, created_at=now))
    recompute(incident, now)
    record(actor, "incident.auto_open", "incident", incident.public_id,
           after={**snapshot(incident), "check": check.slug})
    if publish:
        notify.notify_event("incident_created", incident, update)
        bump_site_version()
    db.session.flush()
    return incident


def _first_failure(result: dict, now: dt.datetime) -> dt.datetime:
    """When the failure began: the result's first_failure_at/started_at if given, else now."""
    for key in ("first_failure_at", "started_at"):
        value = result.get(key) if isinstance(result, dict) else None
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return min(value, now)
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                continue
            if parsed.tzinfo is not None:
                return min(parsed, now)
    return now


def on_component_recovered(component: Component, now: dt.datetime) -> Incident | None:
    """Checks say the component is healthy again: its open auto-incident moves to monitoring.

    Flushes, does not commit. `resolve_quiet_auto_incidents` later resolves it if it stays quiet.
    """
    incident = _open_auto_incident_for(component)
    if incident is None or incident.status == "monitoring":
        return None
    body = f"Our automated checks show {component.name} has recovered. We are monitoring the results."
    post_update(incident, status="monitoring", body=body, components={component: "operational"},
                notify_subscribers=True, actor=Actor.system("checks"), now=now, commit=False)
    db.session.flush()
    return incident


def resolve_quiet_auto_incidents(now: dt.datetime | None = None) -> list[Incident]:
    """Resolve auto-incidents in monitoring whose components stayed healthy for `auto_resolve_after`.

    Only when every affected component has `auto_resolve_after` set and is operational by its checks.
    Commits; safe to run from any number of workers (a resolved incident is skipped).
    """
    now = now or utcnow()
    candidates = db.session.scalars(select(Incident).where(
        Incident.kind == "incident", Incident.source == "auto", Incident.status == "monitoring")).all()
    resolved = []
    for incident in candidates:
        comps = [ic.component for ic in incident.components]
        if not comps or any(c.auto_resolve_after is None or c.check_status != "operational" for c in comps):
            continue
        last = max((u.created_at for u in incident.updates), default=incident.created_at)
        quiet_for = max(c.auto_resolve_after for c in comps)
        if (now - last).total_seconds() < quiet_for:
            continue
        post_update(incident, status="resolved",
                    body="This incident has been resolved: the affected services stayed healthy.",
                    notify_subscribers=True, actor=Actor.system("checks"), now=now, commit=False)
        resolved.append(incident)
    db.session.commit()
    return resolved
