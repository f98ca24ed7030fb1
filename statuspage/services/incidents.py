"""Incident lifecycle: the only place incident state changes.

Vocabulary is Statuspage's: an incident moves investigating → identified → monitoring → resolved (and
can be reopened with an update), its impact is none/minor/major/critical, and each update may set
statuses on the affected components. Every public function writes its audit row, enqueues its
notifications (``notify.notify_event``) and bumps the site version in the same transaction as the
change. Functions called by people commit; the ones for the checks engine (`open_auto_incident`,
`on_component_recovered`) only flush, so they join the engine's transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from ..db import utcnow
from ..extensions import db
from ..models import (
    Check,
    Component,
    Incident,
    IncidentCheck,
    IncidentComponent,
    IncidentUpdate,
    IncidentUpdateComponent,
    UpdateTemplate,
)
from ..models.constants import COMPONENT_STATUSES, STATUS_LABELS
from . import notify
from .audit import Actor, record
from .site import bump_site_version
from .status import recompute_component_status

INCIDENT_FLOW = ("investigating", "identified", "monitoring", "resolved")
OPEN_STATUSES = ("investigating", "identified", "monitoring")
CLOSED_STATUSES = ("resolved", "postmortem")
DECLARABLE_IMPACTS = ("none", "minor", "major", "critical")
KEY_TIMESTAMPS = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")
MAX_NAME = 300
MAX_BODY = 20_000
_ALPHABET = string.ascii_lowercase + string.digits
HUMAN_ACTORS = ("user", "token", "cli")
# An auto-incident's impact from the status its check puts on the component.
IMPACT_FOR_STATUS = {"major_outage": "major", "partial_outage": "minor", "degraded_performance": "minor",
                     "under_maintenance": "none", "operational": "none"}


class IncidentError(ValueError):
    """A request that cannot be honoured; `field` names the offending input when there is one."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.field = field
        self.code = code


def new_public_id() -> str:
    """A short random public id like Statuspage's: 12 characters of [a-z0-9]."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def find_incident(public_id: str, kind: str | None = "incident") -> Incident | None:
    """The incident (or maintenance, with kind=None/'maintenance') with this public id."""
    query = select(Incident).where(Incident.public_id == public_id)
    if kind:
        query = query.where(Incident.kind == kind)
    return db.session.scalar(query)


def find_component(key: Any) -> Component | None:
    """A component by object, id or slug (None when unknown)."""
    if isinstance(key, Component):
        return key
    if isinstance(key, int):
        return db.session.get(Component, key)
    return db.session.scalar(select(Component).where(Component.slug == str(key)))


def resolve_components(statuses: Mapping[Any, str] | None) -> dict[Component, str]:
    """{component id | slug | Component: status} → {Component: status}, validated."""
    out: dict[Component, str] = {}
    for key, status in (statuses or {}).items():
        comp = find_component(key)
        if comp is None or comp.archived_at is not None:
            raise IncidentError(f"unknown component {key!r}", f"components.{key}")
        if status not in COMPONENT_STATUSES:
            raise IncidentError(f"component status must be one of {', '.join(COMPONENT_STATUSES)}",
                                f"components.{comp.slug}")
        out[comp] = status
    return out


def _check_text(name: str | None, body: str | None) -> None:
    if name is not None and (not name.strip() or len(name) > MAX_NAME):
        raise IncidentError(f"name is required (at most {MAX_NAME} characters)", "name")
    if body is not None and len(body) > MAX_BODY:
        raise IncidentError(f"body is too long (at most {MAX_BODY} characters)", "body")


def _snapshot(incident: Incident) -> dict[str, Any]:
    return {"name": incident.name, "status": incident.status, "impact": incident.effective_impact,
            "published": incident.published_at is not None,
            **{k: getattr(incident, k) for k in KEY_TIMESTAMPS}}


def _acknowledge(incident: Incident, actor: Actor, now: dt.datetime) -> None:
    if incident.acknowledged_at is None and actor.type in HUMAN_ACTORS:
        incident.acknowledged_at = now


def _apply_component_statuses(incident: Incident, update: IncidentUpdate,
                              statuses: dict[Component, str]) -> list[Component]:
    """Set IncidentComponent.status and record old → new on the update; return the touched components."""
    current = {ic.component_id: ic for ic in incident.components}
    touched = []
    for comp, status in statuses.items():
        ic = current.get(comp.id)
        old = ic.status if ic is not None else comp.status
        if ic is None:
            ic = IncidentComponent(component_id=comp.id, status=status)
            incident.components.append(ic)
            current[comp.id] = ic
        ic.status = status
        update.component_changes.append(IncidentUpdateComponent(component_id=comp.id, old_status=old,
                                                                new_status=status))
        touched.append(comp)
    return touched


def _recompute(incident: Incident, now: dt.datetime) -> None:
    db.session.flush()
    for ic in incident.components:
        comp = ic.component or db.session.get(Component, ic.component_id)
        recompute_component_status(comp, now, note=f"incident {incident.public_id}")


def _new_update(incident: Incident, status: str, body: str, actor: Actor, now: dt.datetime, *,
                notify_flag: bool, internal: bool = False) -> IncidentUpdate:
    update = IncidentUpdate(public_id=new_public_id(), status=status, body=body or "", notify=notify_flag,
                            internal=internal, created_at=now, display_at=now,
                            created_by_id=actor.id if actor.type == "user" else None,
                            author_label=actor.label)
    incident.updates.append(update)
    return update


def declare_incident(*, name: str, impact: str = "minor", components: Mapping[Any, str] | None = None,
                     body: str = "", status: str = "investigating", notify_subscribers: bool = True,
                     publish: bool = True, actor: Actor, now: dt.datetime | None = None,
                     source: str = "manual", started_at: dt.datetime | None = None) -> Incident:
    """Declare an incident with its first update; published at once unless `publish` is False (a draft)."""
    now = now or utcnow()
    _check_text(name, body)
    if impact not in DECLARABLE_IMPACTS:
        raise IncidentError(f"impact must be one of {', '.join(DECLARABLE_IMPACTS)}", "impact")
    if status not in INCIDENT_FLOW:
        raise IncidentError(f"status must be one of {', '.join(INCIDENT_FLOW)}", "status")
    statuses = resolve_components(components)
    incident = Incident(public_id=new_public_id(), kind="incident", name=name.strip(), status=status,
                        impact=impact, source=source, notify=notify_subscribers, created_at=now,
                        started_at=started_at or now, detected_at=now,
                        published_at=now if publish else None,
                        created_by_id=actor.id if actor.type == "user" else None)
    if status in ("monitoring", "resolved"):
        incident.mitigated_at = now
    if status == "resolved":
        incident.resolved_at = now
    _acknowledge(incident, actor, now)
    db.session.add(incident)
    update = _new_update(incident, status, body, actor, now, notify_flag=notify_subscribers)
    _apply_component_statuses(incident, update, statuses)
    db.session.flush()
    _recompute(incident, now)
    record(actor, "incident.create", "incident", incident.public_id,
           after={**_snapshot(incident), "components": {c.slug: s for c, s in statuses.items()}})
    if publish:
        notify.notify_event("incident_created", incident, update)
        bump_site_version()
    db.session.commit()
    return incident


def post_update(incident: Incident, *, status: str, body: str = "",
                components: Mapping[Any, str] | None = None, notify_subscribers: bool = True,
                actor: Actor, now: dt.datetime | None = None, commit: bool = True) -> IncidentUpdate:
    """Post an update: move the status (a closed incident reopens), set component statuses, notify.

    On resolve, components the update does not mention go back to operational in the incident, so
    each component returns to what its checks say.
    """
    now = now or utcnow()
    if incident.kind != "incident":
        raise IncidentError("this is a scheduled maintenance; use the maintenance actions", "status")
    if status not in INCIDENT_FLOW:
        raise IncidentError(f"status must be one of {', '.join(INCIDENT_FLOW)}", "status")
    _check_text(None, body)
    statuses = resolve_components(components)
    before = _snapshot(incident)
    was_closed = incident.status in CLOSED_STATUSES
    if status == "resolved" and was_closed and not statuses and not body.strip():
        raise IncidentError("the incident is already resolved", "status", code="conflict")
    if status == "resolved":
        mentioned = {c.id for c in statuses}
        for ic in incident.components:
            if ic.component_id not in mentioned and ic.status != "operational":
                statuses[ic.component or db.session.get(Component, ic.component_id)] = "operational"
    update = _new_update(incident, status, body, actor, now, notify_flag=notify_subscribers)
    _apply_component_statuses(incident, update, statuses)
    incident.status = status
    incident.updated_at = now
    _acknowledge(incident, actor, now)
    if status == "monitoring" and incident.mitigated_at is None:
        incident.mitigated_at = now
    if status == "resolved":
        if not was_closed or incident.resolved_at is None:
            incident.resolved_at = now
        if incident.mitigated_at is None:
            incident.mitigated_at = now
    elif was_closed:
        incident.resolved_at = None  # reopened
    db.session.flush()
    _recompute(incident, now)
    action = "incident.reopen" if was_closed and status != "resolved" else "incident.update"
    record(actor, action, "incident", incident.public_id, before=before,
           after={**_snapshot(incident), "update": update.public_id,
                  "components": {c.slug: s for c, s in statuses.items()}})
    if incident.published_at is not None:
        if status == "resolved" and not was_closed:
            notify.notify_event("incident_resolved", incident, update)
        elif notify_subscribers:
            notify.notify_event("incident_updated", incident, update)
        bump_site_version()
    if commit:
        db.session.commit()
    return update


def add_internal_note(incident: Incident, body: str, *, actor: Actor,
                      now: dt.datetime | None = None) -> IncidentUpdate:
    """An internal note on the timeline: visible in the console only, never public, never notified."""
    now = now or utcnow()
    if not body or not body.strip():
        raise IncidentError("a note needs a body", "body")
    _check_text(None, body)
    note = _new_update(incident, incident.status, body, actor, now, notify_flag=False, internal=True)
    _acknowledge(incident, actor, now)
    db.session.flush()
    record(actor, "incident.note", incident.kind, incident.public_id, after={"update": note.public_id})
    db.session.commit()
    return note


def edit_incident(incident: Incident, *, actor: Actor, name: str | None = None, impact: str | None = None,
                  timestamps: Mapping[str, dt.datetime | None] | None = None,
                  now: dt.datetime | None = None) -> Incident:
    """Edit the title, the impact override and the key timestamps (started/detected/acknowledged/...)."""
    now = now or utcnow()
    before = _snapshot(incident)
    _check_text(name, None)
    public_change = False
    if name is not None and name.strip() != incident.name:
        incident.name = name.strip()
        public_change = True
    if impact is not None and impact != incident.effective_impact:
        allowed = DECLARABLE_IMPACTS + (("maintenance",) if incident.kind == "maintenance" else ())
        if impact not in allowed:
            raise IncidentError(f"impact must be one of {', '.join(allowed)}", "impact")
        incident.impact_override = impact
        public_change = True
    for key, value in (timestamps or {}).items():
        if key not in KEY_TIMESTAMPS:
            raise IncidentError(f"unknown timestamp {key!r}", key)
        if value is not None and value.tzinfo is None:
            raise IncidentError("timestamps need a time zone", key)
        setattr(incident, key, value)
    started, resolved = incident.started_at, incident.resolved_at
    for key in ("detected_at", "acknowledged_at", "mitigated_at", "resolved_at"):
        value = getattr(incident, key)
        if started and value and value < started:
            raise IncidentError(f"{key.replace('_at', '')} cannot be before started", key)
    if resolved and incident.mitigated_at and incident.mitigated_at > resolved:
        raise IncidentError("mitigated cannot be after resolved", "mitigated_at")
    _acknowledge(incident, actor, now)
    incident.updated_at = now
    record(actor, "incident.edit", incident.kind, incident.public_id, before=before, after=_snapshot(incident))
    if public_change and incident.published_at is not None:
        bump_site_version()
    db.session.commit()
    return incident


def publish_draft(incident: Incident, *, actor: Actor, name: str | None = None, impact: str | None = None,
                  body: str | None = None, status: str | None = None,
                  components: Mapping[Any, str] | None = None, notify_subscribers: bool = True,
                  now: dt.datetime | None = None) -> Incident:
    """Acknowledge, edit and publish a draft (e.g. an auto-incident held for a human) in one step."""
    now = now or utcnow()
    if incident.published_at is not None:
        raise IncidentError("the incident is already published", "published", code="conflict")
    _check_text(name, body)
    if impact is not None and impact not in DECLARABLE_IMPACTS:
        raise IncidentError(f"impact must be one of {', '.join(DECLARABLE_IMPACTS)}", "impact")
    if status is not None and status not in INCIDENT_FLOW:
        raise IncidentError(f"status must be one of {', '.join(INCIDENT_FLOW)}", "status")
    statuses = resolve_components(components)
    before = _snapshot(incident)
    if name:
        incident.name = name.strip()
    if impact:
        incident.impact = impact
        incident.impact_override = None
    _acknowledge(incident, actor, now)
    incident.notify = notify_subscribers
    incident.published_at = now
    incident.updated_at = now
    update = None
    if body or statuses or (status and status != incident.status):
        update = _new_update(incident, status or incident.status, body or "", actor, now,
                             notify_flag=notify_subscribers)
        _apply_component_statuses(incident, update, statuses)
        incident.status = status or incident.status
        if incident.status == "monitoring" and incident.mitigated_at is None:
            incident.mitigated_at = now
        if incident.status == "resolved":
            incident.resolved_at = incident.resolved_at or now
    else:
        public = [u for u in incident.updates if not u.internal]
        update = public[0] if public else None
    db.session.flush()
    _recompute(incident, now)
    record(actor, "incident.publish", "incident", incident.public_id, before=before, after=_snapshot(incident))
    notify.notify_event("incident_created", incident, update)
    bump_site_version()
    db.session.commit()
    return incident


def delete_draft(incident: Incident, *, actor: Actor) -> None:
    """Discard a draft that was never published (a false alarm)."""
    if incident.published_at is not None:
        raise IncidentError("only drafts can be discarded; resolve a published incident", code="conflict")
    record(actor, "incident.discard", "incident", incident.public_id, before=_snapshot(incident))
    db.session.delete(incident)
    db.session.commit()


# --- the checks engine ------------------------------------------------------------------------------


def _open_auto_incident_for(component: Component) -> Incident | None:
    return db.session.scalar(
        select(Incident).join(IncidentComponent, IncidentComponent.incident_id == Incident.id)
        .where(IncidentComponent.component_id == component.id, Incident.kind == "incident",
               Incident.source == "auto", Incident.status.in_(OPEN_STATUSES))
        .order_by(Incident.created_at.desc()).limit(1))


def open_auto_incident(component: Component, check: Check, result: dict, now: dt.datetime,
                       publish: bool) -> Incident | None:
    """Open (or join) the auto-incident for a component whose check went down; flushes, does not commit.

    Returns None when the component is under maintenance or has auto-incidents off. An already open
    auto-incident on the component gets the check linked instead of a second incident. The check's
    resolved conditions are kept on the IncidentCheck row for the on-call engineer.
    """
    from .maintenance import is_under_maintenance

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
    update = _new_update(incident, "investigating", body, actor, now, notify_flag=True)
    _apply_component_statuses(incident, update, {component: status})
    db.session.flush()
    db.session.add(IncidentCheck(incident_id=incident.id, check_id=check.id, result=result, created_at=now))
    _recompute(incident, now)
    record(actor, "incident.auto_open", "incident", incident.public_id,
           after={**_snapshot(incident), "check": check.slug})
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


# --- update templates --------------------------------------------------------------------------------


def save_template(*, name: str, body: str, status: str | None = None, title: str | None = None,
                  actor: Actor, template: UpdateTemplate | None = None) -> UpdateTemplate:
    """Create (or edit, when `template` is given) a reusable update text."""
    if not name or not name.strip() or len(name) > 200:
        raise IncidentError("name is required (at most 200 characters)", "name")
    if status not in (None, "", *INCIDENT_FLOW):
        raise IncidentError(f"status must be one of {', '.join(INCIDENT_FLOW)}", "status")
    _check_text(None, body)
    clash = db.session.scalar(select(UpdateTemplate).where(UpdateTemplate.name == name.strip()))
    if clash is not None and clash is not template:
        raise IncidentError("a template with this name exists", "name")
    before = None
    if template is None:
        template = UpdateTemplate(name=name.strip())
        db.session.add(template)
    else:
        before = {"name": template.name, "status": template.status, "body": template.body}
    template.name, template.status, template.title, template.body = name.strip(), status or None, title, body
    db.session.flush()
    record(actor, "template.save", "update_template", template.id, before=before,
           after={"name": template.name, "status": template.status, "body": template.body})
    db.session.commit()
    return template


def delete_template(template: UpdateTemplate, *, actor: Actor) -> None:
    """Remove an update template."""
    record(actor, "template.delete", "update_template", template.id, before={"name": template.name})
    db.session.delete(template)
    db.session.commit()


def list_templates() -> list[UpdateTemplate]:
    """All templates by name."""
    return list(db.session.scalars(select(UpdateTemplate).order_by(UpdateTemplate.name)))
