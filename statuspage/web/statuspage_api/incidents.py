"""``/pages/{page_id}/incidents``: incidents and scheduled maintenance (a scheduled incident, as in
Statuspage), their updates. Every change goes through services.incidents or services.maintenance, so
subscribers are notified, audit rows written and the site version bumped as from the console.

Drafts (console-only, unpublished) and cancelled maintenance do not exist in Statuspage and are not
listed here. A PATCH with ``status``, ``body`` or component changes posts an update, as Statuspage does.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import (
    Component,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    IncidentUpdateComponent,
    Postmortem,
)
from ...models.constants import (
    ACTIVE_MAINTENANCE_STATUSES,
    COMPONENT_STATUSES,
    OPEN_INCIDENT_STATUSES,
    STATUS_SEVERITY,
)
from ...services.incidents import lifecycle as incident_svc
from ...services.incidents import maintenance as maint_svc
from ...services.page import get_page
from ...services.site.public import COMPONENT_INDICATOR
from ..authz import current_actor
from .components import find_components
from .core import StatuspageError, created, paged, route
from .forms import Fields, request_body
from .serializers import MAINTENANCE_STATUSES, Positions, incident_json, is_maintenance_status, update_json

INCIDENT_FIELDS = ("name", "status", "impact_override", "scheduled_for", "scheduled_until",
                   "scheduled_remind_prior", "scheduled_auto_in_progress", "scheduled_auto_completed",
                   "scheduled_auto_transition", "deliver_notifications", "body", "components", "component_ids",
                   "backfilled", "backfill_date")
# Documented, accepted and without effect here (no Twitter; metadata is not stored; components always
# follow the maintenance window).
INCIDENT_IGNORED = ("auto_transition_to_maintenance_state", "auto_transition_to_operational_state",
                    "auto_transition_deliver_notifications_at_start", "auto_transition_deliver_notifications_at_end",
                    "metadata", "auto_tweet_at_beginning", "auto_tweet_on_completion", "auto_tweet_on_creation",
                    "auto_tweet_one_hour_before", "wants_twitter_update")
LIST_PAGING = ("page", "per_page")
IMPACTS = ("none", "minor", "major", "critical")


def _listed():
    """Incidents and maintenance a Statuspage client sees: published, not cancelled, with their rows loaded."""
    return (select(Incident)
            .where(Incident.published_at.is_not(None),
                   or_(Incident.kind == "incident", Incident.status != "cancelled"))
            .options(selectinload(Incident.updates).selectinload(IncidentUpdate.component_changes)
                     .selectinload(IncidentUpdateComponent.component),
                     selectinload(Incident.components).selectinload(IncidentComponent.component),
                     selectinload(Incident.postmortem)))


def find_incident(public_id: str) -> Incident:
    inc = db.session.scalar(_listed().where(Incident.public_id == public_id))
    if inc is None:
        raise StatuspageError(404, f"no incident {public_id!r}")
    return inc


def _serializer():
    positions, page_id = Positions(), get_page().public_id
    return lambda inc: incident_json(inc, positions, page_id)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@route("/pages/<spid:page_id>/incidents", query=("q", "limit", "page"))
def incidents_list():
    query = _listed()
    q = request.args.get("q")
    if q:
        if len(q) > 200:
            raise StatuspageError(400, "q is at most 200 characters")
        pattern = _like(q)
        query = query.where(or_(
            Incident.name.ilike(pattern, escape="\\"), Incident.status == q,
            Incident.updates.any((IncidentUpdate.internal.is_(False))
                                 & IncidentUpdate.body.ilike(pattern, escape="\\")),
            Incident.postmortem.has(Postmortem.published_at.is_not(None)
                                    & cast(Postmortem.sections, String).ilike(pattern, escape="\\"))))
    return paged(query.order_by(Incident.created_at.desc(), Incident.id.desc()), _serializer(),
                 size_param="limit")


@route("/pages/<spid:page_id>/incidents/unresolved", query=LIST_PAGING)
def incidents_unresolved():
    query = _listed().where(Incident.kind == "incident", Incident.status.in_(OPEN_INCIDENT_STATUSES))
    return paged(query.order_by(Incident.created_at.desc(), Incident.id.desc()), _serializer())


@route("/pages/<spid:page_id>/incidents/upcoming", query=LIST_PAGING)
def incidents_upcoming():
    query = _listed().where(Incident.kind == "maintenance", Incident.status == "scheduled")
    return paged(query.order_by(Incident.scheduled_for, Incident.id), _serializer())


@route("/pages/<spid:page_id>/incidents/scheduled", query=LIST_PAGING)
def incidents_scheduled():
    query = _listed().where(Incident.kind == "maintenance")
    return paged(query.order_by(Incident.scheduled_for.desc(), Incident.id.desc()), _serializer())


@route("/pages/<spid:page_id>/incidents/active_maintenance", query=LIST_PAGING)
def incidents_active_maintenance():
    query = _listed().where(Incident.kind == "maintenance", Incident.status.in_(ACTIVE_MAINTENANCE_STATUSES))
    return paged(query.order_by(Incident.scheduled_for, Incident.id), _serializer())


@route("/pages/<spid:page_id>/incidents/<spid:incident_id>")
def incident_get(incident_id: str):
    return jsonify(_serializer()(find_incident(incident_id)))


# --- writes ------------------------------------------------------------------------------------------


def _affected(f: Fields) -> dict[Component, str]:
    """{component: status} from ``components`` (a status map) and ``component_ids`` (affected, as they are)."""
    statuses = f.status_map("components", COMPONENT_STATUSES) or {}
    ids = list(dict.fromkeys([*(f.id_list("component_ids") or []), *statuses]))
    out: dict[Component, str] = {}
    for comp in find_components(ids, "incident[components]") if ids else []:
        out[comp] = statuses.get(comp.slug) or comp.status
    return out


def _derived_impact(statuses: dict[Component, str]) -> str:
    """Statuspage's impact from the worst component status (maintenance counts as none)."""
    worst = max(statuses.values(), key=STATUS_SEVERITY.__getitem__, default="operational")
    impact = COMPONENT_INDICATOR[worst]
    return impact if impact in IMPACTS else "none"


def _impact(f: Fields, *, maintenance: bool) -> str | None:
    impact = f.text("impact_override", max_len=20) or None
    allowed = IMPACTS + (("maintenance",) if maintenance else ())
    if impact is not None and impact not in allowed:
        raise StatuspageError(422, f"incident[impact_override] must be one of {', '.join(allowed)}")
    return None if impact == "maintenance" else impact


@route("/pages/<spid:page_id>/incidents", methods=("POST",), scope="write")
def incident_create():
    f = Fields.envelope(request_body(), "incident", known=INCIDENT_FIELDS, ignored=INCIDENT_IGNORED)
    name = f.text("name", max_len=incident_svc.MAX_NAME, required=True) or ""
    status = f.text("status", max_len=20) or None
    if is_maintenance_status(status) or f.has("scheduled_for") or f.has("scheduled_until"):
        inc = _create_maintenance(f, name, status)
    else:
        inc = _create_incident(f, name, status)
    return created(_serializer()(find_incident(inc.public_id)))


def _create_incident(f: Fields, name: str, status: str | None) -> Incident:
    status = status or "investigating"
    if status not in incident_svc.INCIDENT_FLOW:
        raise StatuspageError(422, f"incident[status] must be one of {', '.join(incident_svc.INCIDENT_FLOW)} "
                                   f"(or {', '.join(MAINTENANCE_STATUSES)} with scheduled_for and scheduled_until)")
    statuses = _affected(f)
    body = f.text("body", max_len=incident_svc.MAX_BODY) or ""
    notify = f.boolean("deliver_notifications")
    impact = _impact(f, maintenance=False) or _derived_impact(statuses)
    if f.boolean("backfilled"):
        if statuses:
            raise StatuspageError(422, "a backfilled incident cannot have components")
        when = f.time("backfill_date", required=True)
        return incident_svc.declare_incident(name=name, impact=impact, body=body, status="resolved",
                                             notify_subscribers=False, actor=current_actor(), source="api",
                                             now=when, started_at=when)
    return incident_svc.declare_incident(name=name, impact=impact, components=statuses, body=body, status=status,
                                         notify_subscribers=notify is not False, actor=current_actor(),
                                         source="api")


def _auto_transition(f: Fields) -> bool:
    flags = [f.boolean(k) for k in ("scheduled_auto_in_progress", "scheduled_auto_transition",
                                    "scheduled_auto_completed") if f.has(k)]
    flags = [v for v in flags if v is not None]
    return any(flags) if flags else True


def _create_maintenance(f: Fields, name: str, status: str | None) -> Incident:
    if status is not None and status not in MAINTENANCE_STATUSES:
        raise StatuspageError(422, f"a scheduled maintenance has status {', '.join(MAINTENANCE_STATUSES)}")
    _impact(f, maintenance=True)
    start = f.time("scheduled_for", required=True)
    end = f.time("scheduled_until", required=True)
    if start is None or end is None:  # required=True refused them already
        raise StatuspageError(422, "a scheduled maintenance needs scheduled_for and scheduled_until")
    remind = f.boolean("scheduled_remind_prior")
    notify = f.boolean("deliver_notifications") is not False
    m = maint_svc.schedule_maintenance(
        name=name, scheduled_for=start, scheduled_until=end, components=list(_affected(f)),
        body=f.text("body", max_len=incident_svc.MAX_BODY) or "", auto_transition=_auto_transition(f),
        reminder_minutes=None if remind is False else 60, notify_subscribers=notify, actor=current_actor())
    if status not in (None, "scheduled") and m.status != status:
        maint_svc.post_maintenance_update(m, status=status, notify_subscribers=notify, actor=current_actor())
    return m


def _flow_status(inc: Incident) -> str:
    return inc.status if inc.status in incident_svc.INCIDENT_FLOW else "resolved"


@route("/pages/<spid:page_id>/incidents/<spid:incident_id>", methods=("PATCH", "PUT"), scope="write")
def incident_update(incident_id: str):
    inc = find_incident(incident_id)
    f = Fields.envelope(request_body(), "incident", known=INCIDENT_FIELDS, ignored=INCIDENT_IGNORED)
    if f.has("backfilled") or f.has("backfill_date"):
        raise StatuspageError(422, "only a new incident can be backfilled")
    if inc.kind == "maintenance":
        _patch_maintenance(inc, f)
    else:
        _patch_incident(inc, f)
    db.session.expire_all()
    return jsonify(_serializer()(find_incident(incident_id)))


def _patch_incident(inc: Incident, f: Fields) -> None:
    # Read and check everything first: a refused request changes nothing.
    for key in ("scheduled_for", "scheduled_until", "scheduled_remind_prior", "scheduled_auto_in_progress",
                "scheduled_auto_completed", "scheduled_auto_transition"):
        if f.has(key):
            raise StatuspageError(422, f"incident[{key}]: this incident is not a scheduled maintenance")
    name = f.text("name", max_len=incident_svc.MAX_NAME, required=True) if f.has("name") else None
    impact = _impact(f, maintenance=False)
    status = f.text("status", max_len=20) or None
    if status is not None and status not in incident_svc.INCIDENT_FLOW:
        raise StatuspageError(422, f"incident[status] must be one of {', '.join(incident_svc.INCIDENT_FLOW)}")
    current = {ic.component_id: ic.status for ic in inc.components}
    changes = {c: s for c, s in _affected(f).items() if current.get(c.id) != s}
    body = f.text("body", max_len=incident_svc.MAX_BODY)
    notify = f.boolean("deliver_notifications") is not False
    actor = current_actor()
    if name is not None or impact is not None:
        incident_svc.edit_incident(inc, actor=actor, name=name, impact=impact)
    if status is not None or body is not None or changes:
        incident_svc.post_update(inc, status=status or _flow_status(inc), body=body or "", components=changes,
                                 notify_subscribers=notify, actor=actor)


def _patch_maintenance(m: Incident, f: Fields) -> None:
    _impact(f, maintenance=True)
    name = f.text("name", max_len=incident_svc.MAX_NAME, required=True) if f.has("name") else None
    start = f.time("scheduled_for")
    if start is not None and start != m.scheduled_for:
        raise StatuspageError(422, "incident[scheduled_for]: the start of a maintenance cannot move; delete it "
                                   "and schedule a new one")
    wanted = {c.id for c in _affected(f)}
    if (f.has("components") or f.has("component_ids")) and wanted != {ic.component_id for ic in m.components}:
        raise StatuspageError(422, "incident[components]: the components of a maintenance cannot change")
    status = f.text("status", max_len=20) or None
    if status is not None and status not in MAINTENANCE_STATUSES:
        raise StatuspageError(422, f"incident[status] of a maintenance is one of {', '.join(MAINTENANCE_STATUSES)}")
    body = f.text("body", max_len=incident_svc.MAX_BODY)
    notify = f.boolean("deliver_notifications") is not False
    end = f.time("scheduled_until")
    actor = current_actor()
    if name is not None:
        incident_svc.edit_incident(m, actor=actor, name=name)
    if end is not None and end != m.scheduled_until:
        # The extension posts an update of its own: it carries the body unless a status change follows.
        maint_svc.extend_maintenance(m, until=end, body=(body or "") if status is None else "", actor=actor)
        if status is None:
            body = None
    if status is not None or body:
        maint_svc.post_maintenance_update(m, status=status or m.status, body=body or "",
                                          notify_subscribers=notify, actor=actor)


@route("/pages/<spid:page_id>/incidents/<spid:incident_id>", methods=("DELETE",), scope="write")
def incident_delete(incident_id: str):
    inc = find_incident(incident_id)
    body = _serializer()(inc)
    incident_svc.delete_incident(inc, actor=current_actor())
    return jsonify(body)


@route("/pages/<spid:page_id>/incidents/<spid:incident_id>/incident_updates/<spid:update_id>",
       methods=("PATCH", "PUT"), scope="write")
def incident_update_edit(incident_id: str, update_id: str):
    inc = find_incident(incident_id)
    upd = next((u for u in inc.updates if u.public_id == update_id and not u.internal), None)
    if upd is None:
        raise StatuspageError(404, f"no incident update {update_id!r}")
    f = Fields.envelope(request_body(), "incident_update", known=("body", "display_at"),
                        ignored=("wants_twitter_update", "deliver_notifications", "custom_tweet"))
    values: dict[str, Any] = {"body": f.text("body", max_len=incident_svc.MAX_BODY),
                              "display_at": f.time("display_at")}
    incident_svc.edit_update(upd, actor=current_actor(), **values)
    return jsonify(update_json(upd, inc))
