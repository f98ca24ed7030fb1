"""Incident lifecycle: the only place incident state changes.

Vocabulary is Statuspage's: an incident moves investigating → identified → monitoring → resolved (and
can be reopened with an update), its impact is none/minor/major/critical, and each update may set
statuses on the affected components. Every public function writes its audit row, enqueues its
notifications (``notifications.events.notify_event``) and bumps the site version in the same
transaction as the change, and commits. Maintenance (``incidents.maintenance``) and auto-incidents
(``incidents.auto``) build on the helpers here (``new_update``, ``snapshot``, ``recompute``).
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sql_update

from ...db import utcnow
from ...extensions import db
from ...models import (
    Component,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    IncidentUpdateComponent,
    OutboxMessage,
)
from ...models.constants import COMPONENT_STATUSES
from ...text import text_problem
from ..audit import Actor, record
from ..notifications import events as notify
from ..page import bump_site_version
from .status import recompute_component_status

INCIDENT_FLOW = ("investigating", "identified", "monitoring", "resolved")






DECLARABLE_IMPACTS = ("none", "minor", "major", "critical")


KEY_TIMESTAMPS = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")


MAX_NAME = 300


MAX_BODY = 20_000


_ALPHABET = string.ascii_lowercase + string.digits


HUMAN_ACTORS = ("user", "token", "cli")


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


def check_text(name: str | None, body: str | None, *, require_message: bool = False) -> None:
    """Refuse a name or body that is empty/too long or holds characters no feed or mail can carry;
    ``require_message``: an empty update message is refused too."""
    if name is not None and (not name.strip() or len(name) > MAX_NAME):
        raise IncidentError(f"name is required (at most {MAX_NAME} characters)", "name")
    if body is not None and len(body) > MAX_BODY:
        raise IncidentError(f"body is too long (at most {MAX_BODY} characters)", "body")
    for field, value, multiline in (("name", name, False), ("body", body, True)):
        problem = text_problem(value, multiline=multiline) if value else None
        if problem:
            raise IncidentError(f"{field} {problem}", field)
    if require_message and not (body or "").strip():
        raise IncidentError("body is required: write what changed (subscribers would get an empty message)",
                            "body")


def snapshot(incident: Incident) -> dict[str, Any]:
    return {"name": incident.name, "status": incident.status, "impact": incident.effective_impact,
            "published": incident.published_at is not None,
            **{k: getattr(incident, k) for k in KEY_TIMESTAMPS}}


def acknowledge(incident: Incident, actor: Actor, now: dt.datetime) -> None:
    if incident.acknowledged_at is None and actor.type in HUMAN_ACTORS:
        incident.acknowledged_at = now


def apply_component_statuses(incident: Incident, update: IncidentUpdate,
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


def recompute(incident: Incident, now: dt.datetime) -> None:
    db.session.flush()
    for ic in incident.components:
        comp = ic.component or db.session.get(Component, ic.component_id)
        recompute_component_status(comp, now, note=f"incident {incident.public_id}")


def new_update(incident: Incident, status: str, body: str, actor: Actor, now: dt.datetime, *,
                notify_flag: bool, internal: bool = False) -> IncidentUpdate:
    check_text(None, body)  # every update of an incident or maintenance is written here
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
    check_text(name, body)
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
    acknowledge(incident, actor, now)
    db.session.add(incident)
    update = new_update(incident, status, body, actor, now, notify_flag=notify_subscribers)
    apply_component_statuses(incident, update, statuses)
    db.session.flush()
    recompute(incident, now)
    record(actor, "incident.create", "incident", incident.public_id,
           after={**snapshot(incident), "components": {c.slug: s for c, s in statuses.items()}})
    if publish:
        notify.notify_event("incident_created", incident, update)
        bump_site_version()
    db.session.commit()
    return incident


def post_update(incident: Incident, *, status: str, body: str = "",
                components: Mapping[Any, str] | None = None, notify_subscribers: bool = True,
                actor: Actor, now: dt.datetime | None = None, commit: bool = True,
                require_message: bool = False) -> IncidentUpdate:
    """Post an update: move the status (a closed incident reopens), set component statuses, notify.

    On resolve, components the update does not mention go back to operational in the incident, so
    each component returns to what its checks say. ``require_message`` refuses an empty message (the
    console asks it; Statuspage's API allows a status change without a body).
    """
    now = now or utcnow()
    if incident.kind != "incident":
        raise IncidentError("this is a scheduled maintenance; use the maintenance actions", "status")
    if status not in INCIDENT_FLOW:
        raise IncidentError(f"status must be one of {', '.join(INCIDENT_FLOW)}", "status")
    check_text(None, body, require_message=require_message)
    statuses = resolve_components(components)
    before = snapshot(incident)
    was_closed = not incident.is_open
    if status == "resolved" and was_closed and not statuses and not body.strip():
        raise IncidentError("the incident is already resolved", "status", code="conflict")
    if status == "resolved":
        mentioned = {c.id for c in statuses}
        for ic in incident.components:
            if ic.component_id not in mentioned and ic.status != "operational":
                statuses[ic.component or db.session.get(Component, ic.component_id)] = "operational"
    update = new_update(incident, status, body, actor, now, notify_flag=notify_subscribers)
    apply_component_statuses(incident, update, statuses)
    incident.status = status
    incident.updated_at = now
    acknowledge(incident, actor, now)
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
    recompute(incident, now)
    action = "incident.reopen" if was_closed and status != "resolved" else "incident.update"
    record(actor, action, "incident", incident.public_id, before=before,
           after={**snapshot(incident), "update": update.public_id,
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
    check_text(None, body)
    note = new_update(incident, incident.status, body, actor, now, notify_flag=False, internal=True)
    acknowledge(incident, actor, now)
    db.session.flush()
    record(actor, "incident.note", incident.kind, incident.public_id, after={"update": note.public_id})
    db.session.commit()
    return note


def edit_incident(incident: Incident, *, actor: Actor, name: str | None = None, impact: str | None = None,
                  timestamps: Mapping[str, dt.datetime | None] | None = None,
                  now: dt.datetime | None = None) -> Incident:
    """Edit the title, the impact override and the key timestamps (started/detected/acknowledged/...)."""
    now = now or utcnow()
    before = snapshot(incident)
    check_text(name, None)
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
    acknowledge(incident, actor, now)
    incident.updated_at = now
    record(actor, "incident.edit", incident.kind, incident.public_id, before=before, after=snapshot(incident))
    if public_change and incident.published_at is not None:
        bump_site_version()
    db.session.commit()
    return incident


def correct_update(update: IncidentUpdate, *, body: str, actor: Actor, now: dt.datetime | None = None
                   ) -> IncidentUpdate:
    """Correct the text of a posted update (a typo, a wrong figure, a character no feed can carry).

    The old and new text go to the audit log; nobody is notified again (a correction is not news);
    the public site shows the new text at once when the update is public. Commits.
    """
    now = now or utcnow()
    check_text(None, body)
    if not body.strip():
        raise IncidentError("the corrected text cannot be empty", "body")
    if body == update.body:
        return update
    incident = update.incident
    record(actor, "incident.update_corrected", incident.kind, incident.public_id,
           before={"update": update.public_id, "body": update.body},
           after={"update": update.public_id, "body": body})
    update.body = body
    incident.updated_at = now
    if incident.published_at is not None and not update.internal:
        bump_site_version()
    db.session.commit()
    return update


def publish_draft(incident: Incident, *, actor: Actor, name: str | None = None, impact: str | None = None,
                  body: str | None = None, status: str | None = None,
                  components: Mapping[Any, str] | None = None, notify_subscribers: bool = True,
                  now: dt.datetime | None = None, require_message: bool = False) -> Incident:
    """Acknowledge, edit and publish a draft (e.g. an auto-incident held for a human) in one step.

    ``require_message``: refuse an empty message (publishing from the console's update composer).
    """
    now = now or utcnow()
    if incident.published_at is not None:
        raise IncidentError("the incident is already published", "published", code="conflict")
    check_text(name, body, require_message=require_message)
    if impact is not None and impact not in DECLARABLE_IMPACTS:
        raise IncidentError(f"impact must be one of {', '.join(DECLARABLE_IMPACTS)}", "impact")
    if status is not None and status not in INCIDENT_FLOW:
        raise IncidentError(f"status must be one of {', '.join(INCIDENT_FLOW)}", "status")
    statuses = resolve_components(components)
    before = snapshot(incident)
    if name:
        incident.name = name.strip()
    if impact:
        incident.impact = impact
        incident.impact_override = None
    acknowledge(incident, actor, now)
    incident.notify = notify_subscribers
    incident.published_at = now
    incident.updated_at = now
    update = None
    if body or statuses or (status and status != incident.status):
        update = new_update(incident, status or incident.status, body or "", actor, now,
                             notify_flag=notify_subscribers)
        apply_component_statuses(incident, update, statuses)
        incident.status = status or incident.status
        if incident.status == "monitoring" and incident.mitigated_at is None:
            incident.mitigated_at = now
        if incident.status == "resolved":
            incident.resolved_at = incident.resolved_at or now
    else:
        public = [u for u in incident.updates if not u.internal]
        update = public[0] if public else None
    db.session.flush()
    recompute(incident, now)
    record(actor, "incident.publish", "incident", incident.public_id, before=before, after=snapshot(incident))
    notify.notify_event("incident_created", incident, update)
    bump_site_version()
    db.session.commit()
    return incident


def edit_update(update: IncidentUpdate, *, actor: Actor, body: str | None = None,
                display_at: dt.datetime | None = None) -> IncidentUpdate:
    """Correct a posted update: its text and/or the time it is shown at. Sends nothing; audited.

    The status and component changes of an update are history and stay as they were.
    """
    incident = update.incident
    check_text(None, body)
    if display_at is not None and display_at.tzinfo is None:
        raise IncidentError("display_at needs a time zone", "display_at")
    before = {"body": update.body, "display_at": update.display_at}
    if body is not None:
        update.body = body
    if display_at is not None:
        update.display_at = display_at
    after = {"body": update.body, "display_at": update.display_at}
    if after != before:
        record(actor, "incident.update_edit", incident.kind, incident.public_id,
               before={**before, "update": update.public_id}, after={**after, "update": update.public_id})
        if incident.published_at is not None and not update.internal:
            bump_site_version()
    db.session.commit()
    return update


def delete_incident(incident: Incident, *, actor: Actor, now: dt.datetime | None = None) -> None:
    """Delete an incident or maintenance with its updates and postmortem (Statuspage's delete).

    The audit row keeps a snapshot; mail not yet sent about it is cancelled; its components go back to
    what their checks (or other incidents) say. Status intervals it caused stay as history.
    """
    now = now or utcnow()
    components = [c for c in (ic.component or db.session.get(Component, ic.component_id)
                              for ic in incident.components) if c is not None]
    record(actor, f"{incident.kind}.delete", incident.kind, incident.public_id,
           before={**snapshot(incident), "updates": len(incident.updates),
                   "components": sorted(c.slug for c in components)})
    db.session.execute(sql_update(OutboxMessage).where(OutboxMessage.incident_id == incident.id,
                                                       OutboxMessage.status == "pending")
                       .values(status="cancelled", last_error=f"{incident.kind} deleted"))
    if incident.postmortem is not None:
        db.session.delete(incident.postmortem)
    published = incident.published_at is not None
    db.session.delete(incident)
    db.session.flush()
    for comp in components:
        recompute_component_status(comp, now, note=f"{incident.kind} {incident.public_id} deleted")
    if published:
        bump_site_version()
    db.session.commit()


def delete_draft(incident: Incident, *, actor: Actor) -> None:
    """Discard a draft that was never published (a false alarm)."""
    if incident.published_at is not None:
        raise IncidentError("only drafts can be discarded; resolve a published incident", code="conflict")
    record(actor, "incident.discard", "incident", incident.public_id, before=snapshot(incident))
    db.session.delete(incident)
    db.session.commit()
