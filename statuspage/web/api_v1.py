"""The management API, /api/v1 (JSON only).

Authentication: ``Authorization: Bearer <token>`` or ``OAuth <token>`` (Statuspage's scheme), or a
console session. Lists are JSON arrays paginated with ``page``/``per_page`` and described by the
``Link`` (RFC 8288) and ``X-Total-Count`` headers. Errors are always
``{"error": {"code", "message", "fields"}}`` with a 4xx status. A POST with ``Idempotency-Key``
answers a retry with the stored response. Writes demand ``Content-Type: application/json``, which
also keeps cookie-authenticated writes safe from cross-site forms (a form cannot send that type).
The OpenAPI document at /api/v1/openapi.json (web/openapi_v1.py) describes exactly this module.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from typing import Any

from flask import Blueprint, Flask, g, jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from ..db import utcnow
from ..extensions import csrf, db
from ..models import (
    Account,
    Check,
    Component,
    ComponentGroup,
    IdempotencyKey,
    Incident,
    IncidentUpdate,
    Postmortem,
    Subscriber,
)
from ..models.constants import (
    CLOSED_INCIDENT_STATUSES,
    COMPONENT_STATUSES,
    OPEN_INCIDENT_STATUSES,
    OPEN_MAINTENANCE_STATUSES,
)
from ..services.incidents import lifecycle as incident_svc
from ..services.incidents import maintenance as maint_svc
from ..services.incidents import postmortems as pm_svc
from ..services.incidents.components import set_component_status
from ..services.incidents.lifecycle import IncidentError
from ..services.monitoring.silence import silence_check
from ..services.page import get_page
from .authz import api_auth, api_error, current_actor

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25


class BadRequest(Exception):
    """Raised by parsers; turned into a 400 (or `status`) JSON error."""

    def __init__(self, message: str, fields: dict[str, str] | None = None, status: int = 400,
                 code: str = "invalid_request"):
        super().__init__(message)
        self.message, self.fields, self.status, self.code = message, fields or {}, status, code


# Query parameters each endpoint understands; anything else is refused so a typo is never ignored.
QUERY_PARAMS = {
    "components": {"page", "per_page"}, "groups": {"page", "per_page"}, "checks": {"page", "per_page"},
    "incidents": {"page", "per_page", "state"}, "incident_updates": {"page", "per_page"},
    "maintenance_list": {"page", "per_page", "state"}, "subscribers": {"page", "per_page"},
    "accounts": {"page", "per_page"},
}


@bp.before_request
def _known_query_parameters():
    view = (request.endpoint or "").rpartition(".")[2]
    unknown = set(request.args) - QUERY_PARAMS.get(view, set())
    if unknown:
        return api_error(400, "invalid_request", "unknown query parameters",
                         {k[:100]: "unknown parameter" for k in sorted(unknown)})
    return None


@bp.errorhandler(BadRequest)
def _bad_request(exc: BadRequest):
    db.session.rollback()  # a refused request changes nothing (an Idempotency-Key it flushed included)
    return api_error(exc.status, exc.code, exc.message, exc.fields)


@bp.errorhandler(IncidentError)
def _incident_error(exc: IncidentError):
    db.session.rollback()
    status = 409 if exc.code == "conflict" else 422
    return api_error(status, exc.code if exc.code != "invalid" else "validation_failed", str(exc),
                     {exc.field: str(exc)} if exc.field else {})


API_ERROR_RENDERERS = "statuspage.api_error_renderers"


def register_api_error_renderer(app: Flask, prefix: str, render) -> None:
    """HTTP errors (unknown URL, wrong method, body too large) under `prefix` are rendered by `render`."""
    app.extensions.setdefault(API_ERROR_RENDERERS, {})[prefix] = render


def register_api_error_handlers(app: Flask) -> None:
    """Under /api/ every HTTP error is JSON in the one error shape; elsewhere the default pages stay."""

    @app.before_request
    def _fresh_identity():
        # `g` outlives a request when an app context is already pushed (tests, CLI); who is asking
        # (the actor, the token, Flask-Login's cached user) never does.
        for key in ("actor", "api_token", "_login_user"):
            g.pop(key, None)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not request.path.startswith("/api/"):
            return exc
        for prefix, render in app.extensions.get(API_ERROR_RENDERERS, {}).items():
            if request.path.startswith(prefix):  # an API with an error shape of its own
                return render(exc)
        code = (exc.name or "error").lower().replace(" ", "_")
        resp = api_error(exc.code or 500, code, exc.description or exc.name or "error")
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            resp.headers["Allow"] = ", ".join(exc.valid_methods)
        return resp


# --- parsing -----------------------------------------------------------------------------------------


def _body(envelope: str | None = None) -> dict[str, Any]:
    """The JSON object of the request (or its `envelope` member, Statuspage style)."""
    if not request.is_json:
        raise BadRequest("send Content-Type: application/json", status=415, code="unsupported_media_type")
    try:
        data = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    if envelope is not None:
        inner = data.get(envelope)
        extra = set(data) - {envelope}
        if extra:
            raise BadRequest("unknown fields", {k: "unknown field" for k in sorted(extra)})
        if not isinstance(inner, dict):
            raise BadRequest(f"the body must be {{\"{envelope}\": {{...}}}}", {envelope: "required object"})
        return inner
    return data


def _only(data: dict[str, Any], allowed: set[str], prefix: str) -> None:
    extra = set(data) - allowed
    if extra:
        raise BadRequest("unknown fields", {f"{prefix}{k}": "unknown field" for k in sorted(extra)})


def _str(data: dict, key: str, prefix: str, *, max_len: int, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise BadRequest(f"{key} is required", {prefix + key: "required"})
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise BadRequest(f"{key} must be a string of at most {max_len} characters", {prefix + key: "invalid"})
    return value


def _bool(data: dict, key: str, prefix: str) -> bool | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise BadRequest(f"{key} must be true or false", {prefix + key: "must be a boolean"})
    return value


def _int(data: dict, key: str, prefix: str, lo: int, hi: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise BadRequest(f"{key} must be an integer from {lo} to {hi}", {prefix + key: "invalid"})
    return value


def _time(data: dict, key: str, prefix: str, *, required: bool = False) -> dt.datetime | None:
    value = _str(data, key, prefix, max_len=64, required=required)
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"{key} must be an ISO 8601 date-time", {prefix + key: "invalid date-time"}) from exc
    if parsed.tzinfo is None:
        raise BadRequest(f"{key} needs a UTC offset (e.g. Z)", {prefix + key: "missing offset"})
    if not dt.datetime(1970, 1, 1, tzinfo=dt.UTC) <= parsed <= dt.datetime(9000, 1, 1, tzinfo=dt.UTC):
        raise BadRequest(f"{key} is out of range", {prefix + key: "out of range"})
    return parsed.astimezone(dt.UTC)


def _component_map(data: dict, prefix: str) -> dict[str, str]:
    value = data.get("components")
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 500:
        raise BadRequest("components must be an object {component id: status}", {prefix + "components": "invalid"})
    out = {}
    for slug, status in value.items():
        if status not in COMPONENT_STATUSES:
            raise BadRequest(f"status of {slug} must be one of {', '.join(COMPONENT_STATUSES)}",
                             {f"{prefix}components.{slug}": "invalid status"})
        out[slug] = status
    return out


def _slug_list(data: dict, key: str, prefix: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 500 or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{key} must be a list of component ids", {prefix + key: "invalid"})
    return value


def _paginate(query, serialize):
    """Run `query` for the requested page; answer a JSON array with Link and X-Total-Count."""
    args = request.args
    try:
        page = int(args.get("page", 1))
        per_page = int(args.get("per_page", DEFAULT_PER_PAGE))
    except ValueError as exc:
        raise BadRequest("page and per_page must be integers", {"page": "integer", "per_page": "integer"}) from exc
    if page < 1 or page > 100_000 or not 1 <= per_page <= MAX_PER_PAGE:
        raise BadRequest(f"page ≥ 1 and 1 ≤ per_page ≤ {MAX_PER_PAGE}", {"page": "range", "per_page": "range"})
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    resp = jsonify([serialize(r) for r in rows])
    links = []
    last = max(1, -(-total // per_page))
    base = {k: v for k, v in args.items() if k not in ("page", "per_page")}
    for rel, number in (("first", 1), ("prev", page - 1), ("next", page + 1), ("last", last)):
        if 1 <= number <= last and (rel in ("first", "last") or number != page):
            url = url_for(request.endpoint, **(request.view_args or {}), **base, page=number, per_page=per_page)
            links.append(f'<{url}>; rel="{rel}"')
    resp.headers["Link"] = ", ".join(links)
    resp.headers["X-Total-Count"] = str(total)
    return resp


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


# --- idempotency -------------------------------------------------------------------------------------


def idempotent(view):
    """POST with `Idempotency-Key`: the first response is stored and replayed to retries (per token).

    The key is written *inside* the request's own transaction (flushed before the view runs, so it
    commits together with whatever the view commits): a request that took effect always leaves its key
    behind, even if the process dies before the response is stored. A retry then gets 409 instead of
    doing the work twice; a request that changed nothing (rolled back) leaves no key and can be retried.
    """

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not key.strip() or len(key) > 200:
            raise BadRequest("Idempotency-Key must be 1 to 200 characters", {"Idempotency-Key": "invalid"})
        token = g.get("api_token")
        token_id = token.id if token is not None else None
        scope_key = key if token is not None else f"user:{current_actor().id}:{key}"
        digest = hashlib.sha256(request.method.encode() + request.path.encode() + b"\n"
                                + (request.get_data(cache=True) or b"")).hexdigest()

        def lookup() -> IdempotencyKey | None:
            return db.session.scalar(select(IdempotencyKey).where(
                IdempotencyKey.token_id.is_(None) if token_id is None else IdempotencyKey.token_id == token_id,
                IdempotencyKey.key == scope_key))

        stored = lookup()
        if stored is None:
            db.session.add(IdempotencyKey(token_id=token_id, key=scope_key, request_hash=digest,
                                          status_code=IN_FLIGHT, response_body=""))
            try:
                db.session.flush()
            except IntegrityError:  # a concurrent request with this key got there first
                db.session.rollback()
                stored = lookup()
        if stored is not None:
            return _replay(stored, digest)
        resp = view(*args, **kwargs)
        _store_response(lookup, resp, token_id=token_id, scope_key=scope_key, digest=digest)
        return resp

    return wrapped


IN_FLIGHT = 0  # status_code of a key whose request has not stored its response (yet)


def _replay(stored: IdempotencyKey, digest: str):
    if stored.request_hash != digest:
        return api_error(422, "idempotency_key_reused", "this Idempotency-Key was used with a different request")
    if stored.status_code == IN_FLIGHT:
        return api_error(409, "idempotency_key_in_flight",
                         "a request with this Idempotency-Key is still running, or took effect without its "
                         "response being recorded: look the result up before sending it with a new key")
    resp = jsonify(json.loads(stored.response_body))
    resp.status_code = stored.status_code
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _store_response(lookup, resp, *, token_id, scope_key: str, digest: str) -> None:
    """Record the answer under the key (the key itself went in with the view's transaction)."""
    storable = not isinstance(resp, tuple) and resp.status_code < 500 and resp.is_json
    record = lookup()
    if not storable:
        if record is not None and record.status_code == IN_FLIGHT:
            db.session.delete(record)  # nothing to replay: let a retry run again
        db.session.commit()
        return
    if record is None:  # the view rolled back (bad input): its answer is still the one to replay
        record = IdempotencyKey(token_id=token_id, key=scope_key, request_hash=digest)
        db.session.add(record)
    record.status_code = resp.status_code
    record.response_body = resp.get_data(as_text=True)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent retry stored it first; its answer is the same
        db.session.rollback()


# --- serializers -------------------------------------------------------------------------------------


def component_json(c: Component) -> dict[str, Any]:
    return {"id": c.slug, "name": c.name, "description": c.description, "status": c.status,
            "status_source": c.status_source, "group_id": c.group.slug if c.group else None,
            "position": c.position, "public": c.public, "showcase": c.showcase,
            "only_show_if_degraded": c.only_show_if_degraded, "automation": c.auto_incident,
            "created_at": _iso(c.created_at), "updated_at": _iso(c.updated_at)}


def group_json(grp: ComponentGroup) -> dict[str, Any]:
    return {"id": grp.slug, "name": grp.name, "description": grp.description, "position": grp.position,
            "components": [c.slug for c in grp.components if c.archived_at is None]}


def check_json(c: Check) -> dict[str, Any]:
    last = c.last_result if isinstance(c.last_result, dict) else None
    return {"id": c.slug, "component_id": c.component.slug, "kind": c.kind, "target": c.target,
            "state": c.status, "flapping": bool(c.flapping), "interval_seconds": c.interval_seconds,
            "silenced_until": _iso(c.silenced_until), "last_run_at": _iso(c.last_run_at), "last_result": last}


def update_json(u: IncidentUpdate) -> dict[str, Any]:
    return {"id": u.public_id, "status": u.status, "body": u.body, "internal": u.internal,
            "deliver_notifications": u.notify, "created_at": _iso(u.created_at), "display_at": _iso(u.display_at),
            "author": u.author_label,
            "affected_components": [{"code": ch.component.slug, "name": ch.component.name,
                                     "old_status": ch.old_status, "new_status": ch.new_status}
                                    for ch in u.component_changes]}


def incident_json(i: Incident) -> dict[str, Any]:
    page = get_page()
    base = (page.url or request.host_url).rstrip("/")
    out = {"id": i.public_id, "name": i.name, "status": i.status, "impact": i.effective_impact,
           "impact_override": i.impact_override, "source": i.source, "draft": i.published_at is None,
           "cause_category": i.cause_category, "shortlink": f"{base}/incidents/{i.public_id}",
           "created_at": _iso(i.created_at), "updated_at": _iso(i.updated_at), "published_at": _iso(i.published_at),
           "postmortem_published_at": _iso(i.postmortem.published_at) if i.postmortem else None,
           "components": [{"id": ic.component.slug, "name": ic.component.name, "status": ic.status}
                          for ic in i.components],
           "incident_updates": [update_json(u) for u in sorted(i.updates, key=lambda u: u.created_at,
                                                                reverse=True)]}
    for key in incident_svc.KEY_TIMESTAMPS:
        out[key] = _iso(getattr(i, key))
    if i.kind == "maintenance":
        out.update({"scheduled_for": _iso(i.scheduled_for), "scheduled_until": _iso(i.scheduled_until),
                    "auto_transition": i.auto_transition, "reminder_minutes": i.reminder_minutes})
    return out


def postmortem_json(pm: Postmortem) -> dict[str, Any]:
    return {"incident_id": pm.incident.public_id, "cause_category": pm.cause_category,
            "published_at": _iso(pm.published_at), "updated_at": _iso(pm.updated_at),
            "sections": [{"key": s["key"], "title": s["title"], "body": s.get("body", ""),
                          "public": bool(s.get("public"))} for s in pm.sections or []],
            "action_items": [{"id": a.id, "title": a.title, "owner": a.owner,
                              "due_date": a.due_date.isoformat() if a.due_date else None,
                              "status": a.status, "link": a.link} for a in pm.action_items]}


def subscriber_json(s: Subscriber) -> dict[str, Any]:
    state = ("quarantined" if s.quarantined_at else "unsubscribed" if s.unsubscribed_at
             else "active" if s.confirmed_at else "pending")
    return {"id": s.id, "kind": s.kind, "email": s.email, "webhook_url": s.webhook_url, "state": state,
            "all_components": s.all_components,
            "components": sorted(sc_slug for sc_slug in _subscriber_components(s)),
            "created_at": _iso(s.created_at), "confirmed_at": _iso(s.confirmed_at),
            "unsubscribed_at": _iso(s.unsubscribed_at), "quarantined_at": _iso(s.quarantined_at)}


def _subscriber_components(s: Subscriber) -> list[str]:
    ids = [sc.component_id for sc in s.components]
    if not ids:
        return []
    return list(db.session.scalars(select(Component.slug).where(Component.id.in_(ids))))


def account_json(a: Account) -> dict[str, Any]:
    return {"id": a.external_id, "name": a.name, "arr": float(a.arr or 0), "tier": a.tier,
            "renewal_date": a.renewal_date.isoformat() if a.renewal_date else None,
            "sla_target": float(a.sla_target) if a.sla_target is not None else None, "owner": a.owner_email,
            "components": sorted(ac.component.slug for ac in a.components),
            "team": [m.email for m in a.team],
            "contacts": [{"email": c.email, "name": c.name, "notify": c.notify} for c in a.contacts],
            "archived": a.archived_at is not None}


# --- lookups -----------------------------------------------------------------------------------------


def _component(slug: str) -> Component:
    comp = db.session.scalar(select(Component).where(Component.slug == slug, Component.archived_at.is_(None)))
    if comp is None:
        raise BadRequest(f"no component {slug!r}", status=404, code="not_found")
    return comp


def _incident(public_id: str, kind: str = "incident") -> Incident:
    inc = incident_svc.find_incident(public_id, kind)
    if inc is None:
        raise BadRequest(f"no {kind} {public_id!r}", status=404, code="not_found")
    return inc


# --- components and groups ---------------------------------------------------------------------------


@bp.get("/components")
@api_auth("read")
def components():
    return _paginate(select(Component).where(Component.archived_at.is_(None)).order_by(Component.position,
                                                                                        Component.id),
                     component_json)


@bp.get("/components/<slug>")
@api_auth("read")
def component(slug: str):
    return jsonify(component_json(_component(slug)))


@bp.patch("/components/<slug>")
@api_auth("write")
def component_patch(slug: str):
    comp = _component(slug)
    data = _body("component")
    _only(data, {"status"}, "component.")
    status = data.get("status")
    if status not in COMPONENT_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(COMPONENT_STATUSES)}", {"component.status": "invalid"})
    set_component_status(comp, status, actor=current_actor())
    return jsonify(component_json(comp))


@bp.get("/component-groups")
@api_auth("read")
def groups():
    return _paginate(select(ComponentGroup).where(ComponentGroup.archived_at.is_(None))
                     .order_by(ComponentGroup.position, ComponentGroup.id), group_json)


@bp.get("/component-groups/<slug>")
@api_auth("read")
def group(slug: str):
    grp = db.session.scalar(select(ComponentGroup).where(ComponentGroup.slug == slug,
                                                         ComponentGroup.archived_at.is_(None)))
    if grp is None:
        raise BadRequest(f"no component group {slug!r}", status=404, code="not_found")
    return jsonify(group_json(grp))


# --- checks ------------------------------------------------------------------------------------------


def _check(slug: str) -> Check:
    check = db.session.scalar(select(Check).where(Check.slug == slug, Check.archived_at.is_(None)))
    if check is None:
        raise BadRequest(f"no check {slug!r}", status=404, code="not_found")
    return check


@bp.get("/checks")
@api_auth("read")
def checks():
    return _paginate(select(Check).where(Check.archived_at.is_(None)).order_by(Check.slug), check_json)


@bp.get("/checks/<slug>")
@api_auth("read")
def check(slug: str):
    from ..services.monitoring.rollups import latency_24h

    c = _check(slug)
    return jsonify({**check_json(c), "latency_24h": latency_24h(c.id)})


@bp.post("/checks/<slug>/silence")
@api_auth("write")
def check_silence(slug: str):
    chk = _check(slug)
    data = _body()
    _only(data, {"until", "minutes"}, "")
    if "until" in data and "minutes" in data:
        raise BadRequest("give until or minutes, not both", {"until": "conflicts with minutes"})
    minutes = _int(data, "minutes", "", 0, 43_200)
    if minutes is not None:
        until = None if minutes == 0 else utcnow() + dt.timedelta(minutes=minutes)
    elif "until" in data:
        until = _time(data, "until", "")
    else:
        raise BadRequest("give until (date-time or null) or minutes", {"until": "required"})
    silence_check(chk, until, actor=current_actor())
    return jsonify(check_json(chk))


# --- incidents ---------------------------------------------------------------------------------------

INCIDENT_CREATE_KEYS = {"name", "status", "impact_override", "body", "components", "component_ids",
                        "deliver_notifications", "draft", "started_at"}
INCIDENT_PATCH_KEYS = {"name", "status", "impact_override", "body", "components", "deliver_notifications",
                       "draft", *incident_svc.KEY_TIMESTAMPS}


def _incident_fields(data: dict, prefix: str = "incident.") -> dict[str, Any]:
    status = _str(data, "status", prefix, max_len=20)
    if status is not None and status not in incident_svc.INCIDENT_FLOW:
        raise BadRequest(f"status must be one of {', '.join(incident_svc.INCIDENT_FLOW)}", {prefix + "status": "invalid"})
    impact = _str(data, "impact_override", prefix, max_len=20)
    if impact is not None and impact not in incident_svc.DECLARABLE_IMPACTS:
        raise BadRequest(f"impact_override must be one of {', '.join(incident_svc.DECLARABLE_IMPACTS)}",
                         {prefix + "impact_override": "invalid"})
    return {"name": _str(data, "name", prefix, max_len=incident_svc.MAX_NAME),
            "status": status, "impact": impact,
            "body": _str(data, "body", prefix, max_len=incident_svc.MAX_BODY),
            "components": _component_map(data, prefix),
            "notify": _bool(data, "deliver_notifications", prefix), "draft": _bool(data, "draft", prefix)}


def _check_components(slugs) -> None:
    for slug in slugs:
        _component_or_422(slug)


def _component_or_422(slug: str) -> Component:
    comp = db.session.scalar(select(Component).where(Component.slug == slug, Component.archived_at.is_(None)))
    if comp is None:
        raise BadRequest(f"unknown component {slug!r}", {f"incident.components.{slug}": "unknown component"},
                         status=422, code="validation_failed")
    return comp


@bp.get("/incidents")
@api_auth("read")
def incidents():
    query = select(Incident).where(Incident.kind == "incident")
    state = request.args.get("state")
    if state not in (None, "open", "closed", "draft"):
        raise BadRequest("state must be open, closed or draft", {"state": "invalid"})
    if state == "open":
        query = query.where(Incident.status.in_(OPEN_INCIDENT_STATUSES))
    elif state == "closed":
        query = query.where(Incident.status.in_(CLOSED_INCIDENT_STATUSES))
    elif state == "draft":
        query = query.where(Incident.published_at.is_(None))
    return _paginate(query.order_by(Incident.created_at.desc(), Incident.id.desc()), incident_json)


@bp.post("/incidents")
@api_auth("write")
@idempotent
def incident_create():
    data = _body("incident")
    _only(data, INCIDENT_CREATE_KEYS, "incident.")
    fields = _incident_fields(data)
    if not fields["name"] or not fields["name"].strip():
        raise BadRequest("name is required", {"incident.name": "required"})
    started = _time(data, "started_at", "incident.")
    statuses = dict(fields["components"])
    _check_components(statuses)
    for slug in _slug_list(data, "component_ids", "incident."):
        comp = _component_or_422(slug)
        statuses.setdefault(slug, comp.status)
    source = "api" if g.get("api_token") is not None else "manual"
    inc = incident_svc.declare_incident(
        name=fields["name"], impact=fields["impact"] or "minor", components=statuses, body=fields["body"] or "",
        status=fields["status"] or "investigating",
        notify_subscribers=True if fields["notify"] is None else fields["notify"],
        publish=not fields["draft"], actor=current_actor(), source=source,
        started_at=min(started, utcnow()) if started else None)
    resp = jsonify(incident_json(inc))
    resp.status_code = 201
    resp.headers["Location"] = url_for("api_v1.incident", public_id=inc.public_id)
    return resp


@bp.get("/incidents/<public_id>")
@api_auth("read")
def incident(public_id: str):
    return jsonify(incident_json(_incident(public_id)))


@bp.patch("/incidents/<public_id>")
@api_auth("write")
def incident_patch(public_id: str):
    inc = _incident(public_id)
    data = _body("incident")
    _only(data, INCIDENT_PATCH_KEYS, "incident.")
    fields = _incident_fields(data)
    stamps = {k: _time(data, k, "incident.") for k in incident_svc.KEY_TIMESTAMPS if k in data}
    _check_components(fields["components"])
    if fields["draft"] is True and inc.published_at is not None:
        raise BadRequest("a published incident cannot become a draft again", {"incident.draft": "invalid"},
                         status=409, code="conflict")
    notify_flag = True if fields["notify"] is None else fields["notify"]
    actor = current_actor()
    if fields["draft"] is False and inc.published_at is None:
        incident_svc.publish_draft(inc, actor=actor, name=fields["name"], impact=fields["impact"],
                                   body=fields["body"], status=fields["status"], components=fields["components"],
                                   notify_subscribers=notify_flag)
    else:
        if fields["name"] is not None or fields["impact"] is not None or stamps:
            incident_svc.edit_incident(inc, actor=actor, name=fields["name"], impact=fields["impact"],
                                       timestamps=stamps)
        if fields["status"] is not None or fields["body"] is not None or fields["components"]:
            incident_svc.post_update(inc, status=fields["status"] or _flow_status(inc), body=fields["body"] or "",
                                     components=fields["components"], notify_subscribers=notify_flag, actor=actor)
    db.session.refresh(inc)
    return jsonify(incident_json(inc))


def _flow_status(inc: Incident) -> str:
    return inc.status if inc.status in incident_svc.INCIDENT_FLOW else "resolved"


@bp.get("/incidents/<public_id>/updates")
@api_auth("read")
def incident_updates(public_id: str):
    inc = _incident(public_id, kind="")  # maintenance windows have updates too
    return _paginate(select(IncidentUpdate).where(IncidentUpdate.incident_id == inc.id)
                     .order_by(IncidentUpdate.created_at.desc(), IncidentUpdate.id.desc()), update_json)


@bp.post("/incidents/<public_id>/updates")
@api_auth("write")
@idempotent
def incident_update_create(public_id: str):
    inc = _incident(public_id)
    data = _body("incident_update")
    _only(data, {"status", "body", "components", "deliver_notifications", "internal"}, "incident_update.")
    fields = _incident_fields(data, "incident_update.")
    internal = _bool(data, "internal", "incident_update.")
    _check_components(fields["components"])
    if internal:
        if fields["status"] or fields["components"]:
            raise BadRequest("an internal note has only a body", {"incident_update.internal": "body only"})
        upd = incident_svc.add_internal_note(inc, fields["body"] or "", actor=current_actor())
    else:
        upd = incident_svc.post_update(inc, status=fields["status"] or _flow_status(inc), body=fields["body"] or "",
                                       components=fields["components"],
                                       notify_subscribers=True if fields["notify"] is None else fields["notify"],
                                       actor=current_actor())
    resp = jsonify(update_json(upd))
    resp.status_code = 201
    return resp


# --- maintenance -------------------------------------------------------------------------------------


@bp.get("/maintenance")
@api_auth("read")
def maintenance_list():
    query = select(Incident).where(Incident.kind == "maintenance")
    state = request.args.get("state")
    if state not in (None, "open", "closed"):
        raise BadRequest("state must be open or closed", {"state": "invalid"})
    if state == "open":
        query = query.where(Incident.status.in_(OPEN_MAINTENANCE_STATUSES))
    elif state == "closed":
        query = query.where(Incident.status.in_(("completed", "cancelled")))
    return _paginate(query.order_by(Incident.scheduled_for.desc(), Incident.id.desc()), incident_json)


@bp.post("/maintenance")
@api_auth("write")
@idempotent
def maintenance_create():
    data = _body("maintenance")
    p = "maintenance."
    _only(data, {"name", "body", "scheduled_for", "scheduled_until", "components", "auto_transition",
                 "reminder_minutes", "deliver_notifications"}, p)
    name = _str(data, "name", p, max_len=300, required=True)
    start = _time(data, "scheduled_for", p, required=True)
    end = _time(data, "scheduled_until", p, required=True)
    slugs = _slug_list(data, "components", p)
    for slug in slugs:
        _component_or_422(slug)
    m = maint_svc.schedule_maintenance(
        name=name or "", body=_str(data, "body", p, max_len=incident_svc.MAX_BODY) or "",
        scheduled_for=start, scheduled_until=end, components=slugs,
        auto_transition=_bool(data, "auto_transition", p) is not False,
        reminder_minutes=_int(data, "reminder_minutes", p, 0, 10_080) if "reminder_minutes" in data else 60,
        notify_subscribers=_bool(data, "deliver_notifications", p) is not False, actor=current_actor())
    resp = jsonify(incident_json(m))
    resp.status_code = 201
    resp.headers["Location"] = url_for("api_v1.maintenance", public_id=m.public_id)
    return resp


@bp.get("/maintenance/<public_id>")
@api_auth("read")
def maintenance(public_id: str):
    return jsonify(incident_json(_incident(public_id, "maintenance")))


@bp.patch("/maintenance/<public_id>")
@api_auth("write")
def maintenance_patch(public_id: str):
    m = _incident(public_id, "maintenance")
    data = _body("maintenance")
    p = "maintenance."
    _only(data, {"status", "body", "scheduled_until", "deliver_notifications"}, p)
    status = _str(data, "status", p, max_len=20)
    if status is not None and status not in (*maint_svc.MANUAL_STATUSES, "cancelled"):
        raise BadRequest("status must be scheduled, in_progress, verifying, completed or cancelled",
                         {p + "status": "invalid"})
    body = _str(data, "body", p, max_len=incident_svc.MAX_BODY) or ""
    until = _time(data, "scheduled_until", p)
    notify_flag = _bool(data, "deliver_notifications", p) is not False
    actor = current_actor()
    if until is not None:
        maint_svc.extend_maintenance(m, until=until, body=body if status is None else "", actor=actor)
    if status == "cancelled":
        maint_svc.cancel_maintenance(m, body=body, actor=actor)
    elif status is not None or (body and until is None):
        maint_svc.post_maintenance_update(m, status=status or m.status, body=body,
                                          notify_subscribers=notify_flag, actor=actor)
    db.session.refresh(m)
    return jsonify(incident_json(m))


# --- postmortems -------------------------------------------------------------------------------------


@bp.get("/incidents/<public_id>/postmortem")
@api_auth("read")
def postmortem(public_id: str):
    inc = _incident(public_id)
    if inc.postmortem is None:
        raise BadRequest("this incident has no postmortem yet", status=404, code="not_found")
    return jsonify(postmortem_json(inc.postmortem))


@bp.put("/incidents/<public_id>/postmortem")
@api_auth("write")
def postmortem_put(public_id: str):
    inc = _incident(public_id)
    data = _body("postmortem")
    p = "postmortem."
    _only(data, {"cause_category", "sections"}, p)
    cause = _str(data, "cause_category", p, max_len=40)
    sections = data.get("sections")
    if sections is not None and not isinstance(sections, dict):
        raise BadRequest("sections must be an object {key: {body, public}}", {p + "sections": "invalid"})
    for key, sec in (sections or {}).items():
        if key not in pm_svc.SECTION_KEYS:
            raise BadRequest(f"unknown section {key!r}", {f"{p}sections.{key}": "unknown section"})
        if not isinstance(sec, dict) or set(sec) - {"body", "public"}:
            raise BadRequest("a section is {body, public}", {f"{p}sections.{key}": "invalid"})
        _str(sec, "body", f"{p}sections.{key}.", max_len=pm_svc.MAX_SECTION)
        _bool(sec, "public", f"{p}sections.{key}.")
    pm = pm_svc.get_or_create_postmortem(inc, actor=current_actor())
    pm_svc.save_postmortem(pm, actor=current_actor(), sections=sections, cause_category=cause)
    return jsonify(postmortem_json(pm))


@bp.post("/incidents/<public_id>/postmortem/publish")
@api_auth("write")
def postmortem_publish(public_id: str):
    inc = _incident(public_id)
    data = _body() if request.get_data(cache=True) else {}
    _only(data, {"deliver_notifications"}, "")
    if inc.postmortem is None:
        raise BadRequest("this incident has no postmortem yet", status=404, code="not_found")
    pm_svc.publish_postmortem(inc.postmortem, actor=current_actor(),
                              notify_subscribers=bool(_bool(data, "deliver_notifications", "")))
    return jsonify(postmortem_json(inc.postmortem))


@bp.post("/incidents/<public_id>/postmortem/action_items")
@api_auth("write")
@idempotent
def action_item_create(public_id: str):
    inc = _incident(public_id)
    data = _body("action_item")
    p = "action_item."
    _only(data, {"title", "owner", "due_date", "status", "link"}, p)
    if inc.postmortem is None:
        raise BadRequest("this incident has no postmortem yet", status=404, code="not_found")
    due = _str(data, "due_date", p, max_len=10)
    status = _str(data, "status", p, max_len=20) or "open"
    item = pm_svc.add_action_item(inc.postmortem, title=_str(data, "title", p, max_len=500, required=True) or "",
                                  owner=_str(data, "owner", p, max_len=320), due_date=due, status=status,
                                  link=_str(data, "link", p, max_len=1000), actor=current_actor())
    resp = jsonify(next(a for a in postmortem_json(inc.postmortem)["action_items"] if a["id"] == item.id))
    resp.status_code = 201
    return resp


# Subscribers (web/api_v1_subscribers.py) and accounts (web/accounts_api.py) live with their domains.


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API (public: it holds no data)."""
    from .openapi_v1 import build_spec

    return jsonify(build_spec())
