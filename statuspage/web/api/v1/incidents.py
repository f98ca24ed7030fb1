"""/api/v1 incidents and their updates, in Statuspage's management-API body shape (``{"incident": {…}}``)."""

from __future__ import annotations

from typing import Any

from flask import g, jsonify, url_for
from sqlalchemy import select

from checks.validation import as_choice

from ....db import utcnow
from ....extensions import db
from ....models import Component, Incident, IncidentUpdate
from ....models.constants import CLOSED_INCIDENT_STATUSES, COMPONENT_STATUSES, OPEN_INCIDENT_STATUSES
from ....services.incidents import lifecycle as incident_svc
from ...authz import api_auth, current_actor
from ..idempotency import idempotent
from ..toolkit import (
    PAGE_PARAMS,
    ApiError,
    RequestFields,
    accepts_query,
    json_body,
    paged_array,
    query_fields,
)
from .blueprint import bp
from .serializers import incident_json, update_json

MAX_COMPONENTS = 500
CREATE_FIELDS = {"name", "status", "impact_override", "body", "components", "component_ids",
                 "deliver_notifications", "draft", "started_at"}
PATCH_FIELDS = {"name", "status", "impact_override", "body", "components", "deliver_notifications", "draft",
                *incident_svc.KEY_TIMESTAMPS}
UPDATE_FIELDS = {"status", "body", "components", "deliver_notifications", "internal"}


# --- shared by the incident, maintenance and postmortem modules --------------------------------------


def find_incident(public_id: str, kind: str = "incident") -> Incident:
    """An incident (or with ``kind="maintenance"`` a window; ``""`` either) by public id, or 404."""
    inc = incident_svc.find_incident(public_id, kind)
    if inc is None:
        raise ApiError.not_found(f"no {kind or 'incident'} {public_id!r}")
    return inc


def live_component(slug: str, path: str) -> Component:
    """A component the body names; an unknown one breaks a rule (422), the body itself was well-formed."""
    comp = db.session.scalar(select(Component).where(Component.slug == slug, Component.archived_at.is_(None)))
    if comp is None:
        raise ApiError.unprocessable(f"unknown component {slug!r}", {path: "unknown component"})
    return comp


def status_map(f: RequestFields, key: str = "components") -> dict[str, str]:
    """``{component id: status}`` (Statuspage's shape), statuses checked; the components are not looked up."""
    value = f.mapping(key, max_items=MAX_COMPONENTS) or {}
    out = {}
    for slug, status in value.items():
        clean = f.errors.check(f"{f.path_of(key)}.{slug}", as_choice, status, COMPONENT_STATUSES)
        if clean is not None:
            out[str(slug)] = clean
    return out


def slug_list(f: RequestFields, key: str) -> list[str]:
    """A list of component ids."""
    slugs = f.listing(key, max_items=MAX_COMPONENTS)
    for i, slug in enumerate(slugs):
        if not isinstance(slug, str):
            f.errors.add(f"{f.path_of(key)}[{i}]", "must be a component id")
    return [s for s in slugs if isinstance(s, str)]


def _incident_fields(f: RequestFields) -> dict[str, Any]:
    return {"name": f.text("name", max_len=incident_svc.MAX_NAME),
            "status": f.choice("status", incident_svc.INCIDENT_FLOW),
            "impact": f.choice("impact_override", incident_svc.DECLARABLE_IMPACTS),
            "body": f.text("body", max_len=incident_svc.MAX_BODY),
            "components": status_map(f), "notify": f.boolean("deliver_notifications"),
            "draft": f.boolean("draft")}


def _flow_status(inc: Incident) -> str:
    return inc.status if inc.status in incident_svc.INCIDENT_FLOW else "resolved"


# --- incidents ---------------------------------------------------------------------------------------


@bp.get("/incidents")
@api_auth("read")
@accepts_query(*PAGE_PARAMS, "state")
def incidents():
    q = query_fields()
    state = q.choice("state", ("open", "closed", "draft"))
    q.done()
    query = select(Incident).where(Incident.kind == "incident")
    if state == "open":
        query = query.where(Incident.status.in_(OPEN_INCIDENT_STATUSES))
    elif state == "closed":
        query = query.where(Incident.status.in_(CLOSED_INCIDENT_STATUSES))
    elif state == "draft":
        query = query.where(Incident.published_at.is_(None))
    return paged_array(query.order_by(Incident.created_at.desc(), Incident.id.desc()), incident_json)


@bp.post("/incidents")
@api_auth("write")
@idempotent
def incident_create():
    f = RequestFields(json_body("incident"), "incident", allowed=CREATE_FIELDS)
    fields = _incident_fields(f)
    if not f.has("name"):
        f.error("name", "required")
    elif fields["name"] is not None and not fields["name"].strip():
        f.error("name", "must not be empty")
    started = f.timestamp("started_at")
    listed = slug_list(f, "component_ids")
    f.done()
    statuses = dict(fields["components"])
    for slug in statuses:
        live_component(slug, f"incident.components.{slug}")
    for i, slug in enumerate(listed):
        statuses.setdefault(slug, live_component(slug, f"incident.component_ids[{i}]").status)
    inc = incident_svc.declare_incident(
        name=fields["name"], impact=fields["impact"] or "minor", components=statuses, body=fields["body"] or "",
        status=fields["status"] or "investigating",
        notify_subscribers=fields["notify"] is not False, publish=not fields["draft"], actor=current_actor(),
        source="api" if g.get("api_token") is not None else "manual",
        started_at=min(started, utcnow()) if started else None)
    resp = jsonify(incident_json(inc))
    resp.status_code = 201
    resp.headers["Location"] = url_for("api_v1.incident", public_id=inc.public_id)
    return resp


@bp.get("/incidents/<public_id>")
@api_auth("read")
def incident(public_id: str):
    return jsonify(incident_json(find_incident(public_id)))


@bp.patch("/incidents/<public_id>")
@api_auth("write")
def incident_patch(public_id: str):
    """A status, body or components change posts an update; name, impact and key times edit; draft=false publishes."""
    inc = find_incident(public_id)
    f = RequestFields(json_body("incident"), "incident", allowed=PATCH_FIELDS)
    fields = _incident_fields(f)
    stamps = {k: f.timestamp(k) for k in incident_svc.KEY_TIMESTAMPS if k in f.data}
    f.done()
    for slug in fields["components"]:
        live_component(slug, f"incident.components.{slug}")
    if fields["draft"] is True and inc.published_at is not None:
        raise ApiError.conflict("a published incident cannot become a draft again", {"incident.draft": "invalid"})
    notify = fields["notify"] is not False
    actor = current_actor()
    if fields["draft"] is False and inc.published_at is None:
        incident_svc.publish_draft(inc, actor=actor, name=fields["name"], impact=fields["impact"],
                                   body=fields["body"], status=fields["status"], components=fields["components"],
                                   notify_subscribers=notify)
    else:
        if fields["name"] is not None or fields["impact"] is not None or stamps:
            incident_svc.edit_incident(inc, actor=actor, name=fields["name"], impact=fields["impact"],
                                       timestamps=stamps)
        if fields["status"] is not None or fields["body"] is not None or fields["components"]:
            incident_svc.post_update(inc, status=fields["status"] or _flow_status(inc), body=fields["body"] or "",
                                     components=fields["components"], notify_subscribers=notify, actor=actor)
    db.session.refresh(inc)
    return jsonify(incident_json(inc))


# --- updates -----------------------------------------------------------------------------------------


@bp.get("/incidents/<public_id>/updates")
@api_auth("read")
@accepts_query(*PAGE_PARAMS)
def incident_updates(public_id: str):
    inc = find_incident(public_id, kind="")  # maintenance windows have updates too
    return paged_array(select(IncidentUpdate).where(IncidentUpdate.incident_id == inc.id)
                       .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc()), update_json)


@bp.post("/incidents/<public_id>/updates")
@api_auth("write")
@idempotent
def incident_update_create(public_id: str):
    inc = find_incident(public_id)
    f = RequestFields(json_body("incident_update"), "incident_update", allowed=UPDATE_FIELDS)
    fields = _incident_fields(f)
    internal = f.boolean("internal")
    if internal and (fields["status"] or fields["components"]):
        f.error("internal", "an internal note has only a body")
    f.done()
    for slug in fields["components"]:
        live_component(slug, f"incident_update.components.{slug}")
    if internal:
        upd = incident_svc.add_internal_note(inc, fields["body"] or "", actor=current_actor())
    else:
        upd = incident_svc.post_update(inc, status=fields["status"] or _flow_status(inc), body=fields["body"] or "",
                                       components=fields["components"], notify_subscribers=fields["notify"] is not False,
                                       actor=current_actor())
    resp = jsonify(update_json(upd))
    resp.status_code = 201
    return resp
