"""/api/v1 postmortems: read, write (sections by key, cause category), publish, add action items."""

from __future__ import annotations

from flask import jsonify

from checks.validation import Fields

from ....models import Incident, Postmortem
from ....services.incidents import postmortems as pm_svc
from ...authz import api_auth, current_actor
from ..idempotency import idempotent
from ..toolkit import ApiError, RequestFields, json_body
from .blueprint import bp
from .incidents import find_incident
from .serializers import action_item_json, postmortem_json


def _postmortem_of(inc: Incident) -> Postmortem:
    if inc.postmortem is None:
        raise ApiError.not_found("this incident has no postmortem yet")
    return inc.postmortem


@bp.get("/incidents/<public_id>/postmortem")
@api_auth("read")
def postmortem(public_id: str):
    return jsonify(postmortem_json(_postmortem_of(find_incident(public_id))))


@bp.put("/incidents/<public_id>/postmortem")
@api_auth("write")
def postmortem_put(public_id: str):
    inc = find_incident(public_id)
    f = RequestFields(json_body("postmortem"), "postmortem", allowed={"cause_category", "sections"})
    cause = f.text("cause_category", max_len=40)
    sections = f.mapping("sections")
    for key, section in (sections or {}).items():
        path = f"postmortem.sections.{key}"
        if key not in pm_svc.SECTION_KEYS:
            f.errors.add(path, f"unknown section (sections: {', '.join(pm_svc.SECTION_KEYS)})")
        elif not isinstance(section, dict):
            f.errors.add(path, "must be a mapping {body, public}")
        else:
            s = Fields(section, path, f.errors)
            s.known({"body", "public"}, noun="field")
            s.text("body", max_len=pm_svc.MAX_SECTION)
            s.boolean("public")
    f.done()
    pm = pm_svc.get_or_create_postmortem(inc, actor=current_actor())
    pm_svc.save_postmortem(pm, actor=current_actor(), sections=sections, cause_category=cause)
    return jsonify(postmortem_json(pm))


@bp.post("/incidents/<public_id>/postmortem/publish")
@api_auth("write")
def postmortem_publish(public_id: str):
    inc = find_incident(public_id)
    f = RequestFields(json_body(optional=True), allowed={"deliver_notifications"})
    notify = f.boolean("deliver_notifications", False)
    f.done()
    pm = _postmortem_of(inc)
    pm_svc.publish_postmortem(pm, actor=current_actor(), notify_subscribers=bool(notify))
    return jsonify(postmortem_json(pm))


@bp.post("/incidents/<public_id>/postmortem/action_items")
@api_auth("write")
@idempotent
def action_item_create(public_id: str):
    pm = _postmortem_of(find_incident(public_id))
    f = RequestFields(json_body("action_item"), "action_item",
                      allowed={"title", "owner", "due_date", "status", "link"})
    title = f.text("title", required=True, allow_empty=True, max_len=500)  # a blank title: the service says
    owner = f.text("owner", max_len=320)
    due = f.text("due_date", max_len=10)
    status = f.text("status", max_len=20) or "open"
    link = f.text("link", max_len=1000)
    f.done()
    item = pm_svc.add_action_item(pm, title=title or "", owner=owner, due_date=due, status=status, link=link,
                                  actor=current_actor())
    resp = jsonify(action_item_json(item))
    resp.status_code = 201
    return resp
