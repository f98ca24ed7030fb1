"""/api/v1 scheduled maintenance: list, schedule, read, and move a window (update, extend, cancel)."""

from __future__ import annotations

from flask import jsonify, url_for
from sqlalchemy import select

from ....extensions import db
from ....models import Incident
from ....models.constants import OPEN_MAINTENANCE_STATUSES
from ....services.incidents import lifecycle as incident_svc
from ....services.incidents import maintenance as maint_svc
from ...authz import api_auth, current_actor
from ..idempotency import idempotent
from ..toolkit import PAGE_PARAMS, RequestFields, accepts_query, json_body, paged_array, query_fields
from .blueprint import bp
from .incidents import find_incident, live_component, slug_list
from .serializers import incident_json

MAX_NAME = 300
MAX_REMINDER_MINUTES = 10_080  # a week
CREATE_FIELDS = {"name", "body", "scheduled_for", "scheduled_until", "components", "auto_transition",
                 "reminder_minutes", "deliver_notifications"}
PATCH_FIELDS = {"status", "body", "scheduled_until", "deliver_notifications"}


@bp.get("/maintenance")
@api_auth("read")
@accepts_query(*PAGE_PARAMS, "state")
def maintenance_list():
    q = query_fields()
    state = q.choice("state", ("open", "closed"))
    q.done()
    query = select(Incident).where(Incident.kind == "maintenance")
    if state == "open":
        query = query.where(Incident.status.in_(OPEN_MAINTENANCE_STATUSES))
    elif state == "closed":
        query = query.where(Incident.status.in_(("completed", "cancelled")))
    return paged_array(query.order_by(Incident.scheduled_for.desc(), Incident.id.desc()), incident_json)


@bp.post("/maintenance")
@api_auth("write")
@idempotent
def maintenance_create():
    f = RequestFields(json_body("maintenance"), "maintenance", allowed=CREATE_FIELDS)
    name = f.text("name", required=True, allow_empty=True, max_len=MAX_NAME)  # a blank name: the service says
    start = f.timestamp("scheduled_for", required=True)
    end = f.timestamp("scheduled_until", required=True)
    slugs = slug_list(f, "components")
    body = f.text("body", max_len=incident_svc.MAX_BODY)
    auto_transition = f.boolean("auto_transition", True)
    # null: no reminder; absent: an hour before.
    reminder = f.integer("reminder_minutes", 0, MAX_REMINDER_MINUTES) if "reminder_minutes" in f.data else 60
    notify = f.boolean("deliver_notifications", True)
    f.done()
    for i, slug in enumerate(slugs):
        live_component(slug, f"maintenance.components[{i}]")
    m = maint_svc.schedule_maintenance(
        name=name or "", body=body or "", scheduled_for=start, scheduled_until=end, components=slugs,
        auto_transition=bool(auto_transition), reminder_minutes=reminder, notify_subscribers=bool(notify),
        actor=current_actor())
    resp = jsonify(incident_json(m))
    resp.status_code = 201
    resp.headers["Location"] = url_for("api_v1.maintenance", public_id=m.public_id)
    return resp


@bp.get("/maintenance/<public_id>")
@api_auth("read")
def maintenance(public_id: str):
    return jsonify(incident_json(find_incident(public_id, "maintenance")))


@bp.patch("/maintenance/<public_id>")
@api_auth("write")
def maintenance_patch(public_id: str):
    """Post an update, move its status, extend it (scheduled_until) or cancel it."""
    m = find_incident(public_id, "maintenance")
    f = RequestFields(json_body("maintenance"), "maintenance", allowed=PATCH_FIELDS)
    status = f.choice("status", (*maint_svc.MANUAL_STATUSES, "cancelled"))
    body = f.text("body", max_len=incident_svc.MAX_BODY) or ""
    until = f.timestamp("scheduled_until")
    notify = f.boolean("deliver_notifications", True)
    f.done()
    actor = current_actor()
    if until is not None:
        maint_svc.extend_maintenance(m, until=until, body=body if status is None else "", actor=actor)
    if status == "cancelled":
        maint_svc.cancel_maintenance(m, body=body, actor=actor)
    elif status is not None or (body and until is None):
        maint_svc.post_maintenance_update(m, status=status or m.status, body=body,
                                          notify_subscribers=bool(notify), actor=actor)
    db.session.refresh(m)
    return jsonify(incident_json(m))
