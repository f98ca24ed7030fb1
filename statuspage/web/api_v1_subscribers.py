"""/api/v1/subscribers and /api/v1/outbox: manage subscribers (webhooks included) and read the outbox.

Bearer tokens need no CSRF token; a console session writing here must send X-CSRFToken.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import func, select

from ..extensions import csrf, db
from ..models import OutboxMessage, Subscriber
from ..models.constants import OUTBOX_STATUSES
from ..services.notifications import subscriptions as subs
from ..services.notifications.outbox.console import OutboxError, outbox_counts, retry_row
from .admin_notify import STATES, subscriber_filter
from .authz import api_auth, api_error, current_actor, refuse_unknown_query
from .notify_views import outbox_json, subscriber_json

bp = Blueprint("api_v1_subscribers", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
MAX_LIMIT = 500
refuse_unknown_query(bp, {"list_subscribers": {"state", "kind", "q", "limit", "offset"},
                          "list_outbox": {"status", "subscriber_id", "incident_id", "limit", "offset"}})


@bp.before_request
def _csrf_for_sessions():
    # Token clients need no CSRF token; a console session writing through the API does.
    if (request.method in ("POST", "PUT", "PATCH", "DELETE") and not request.headers.get("Authorization")
            and current_user.is_authenticated and current_user.role in ("admin", "responder")):
        csrf.protect()


def _paging() -> tuple[int, int] | None:
    try:
        limit = int(request.args.get("limit", 100))
        offset = int(request.args.get("offset", 0))
    except ValueError:
        return None
    if not (1 <= limit <= MAX_LIMIT) or offset < 0:
        return None
    return limit, offset


def _bad_paging():
    return api_error(400, "invalid_query", f"limit must be 1..{MAX_LIMIT} and offset ≥ 0",
                     {"limit": "integer", "offset": "integer"})


@bp.get("/subscribers")
@api_auth("read")
def list_subscribers():
    paging = _paging()
    if paging is None:
        return _bad_paging()
    state, kind = request.args.get("state"), request.args.get("kind")
    if state is not None and state not in STATES:
        return api_error(400, "invalid_query", f"state must be one of {', '.join(STATES)}", {"state": state})
    if kind is not None and kind not in ("email", "webhook"):
        return api_error(400, "invalid_query", "kind must be email or webhook", {"kind": kind})
    q = request.args.get("q")
    total = db.session.scalar(subscriber_filter(select(func.count(Subscriber.id)), state, kind, q))
    rows = db.session.scalars(subscriber_filter(select(Subscriber), state, kind, q)
                              .order_by(Subscriber.id).limit(paging[0]).offset(paging[1]))
    return jsonify(total=total, subscribers=[subscriber_json(s) for s in rows])


@bp.post("/subscribers")
@api_auth("write")
def create_subscriber():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return api_error(400, "invalid_json", "expected a JSON object")
    kind = data.get("kind", "webhook")
    components = data.get("components") or []
    if not isinstance(components, list) or not all(isinstance(c, str | int) for c in components):
        return api_error(422, "invalid", "components must be a list of component slugs",
                         {"components": "list of slugs"})
    keys = [str(c) for c in components]
    try:
        if kind == "webhook":
            sub, secret = subs.create_webhook_subscriber(data.get("url"), keys, fmt=data.get("format", "statuspage"),
                                                         actor=current_actor())
            body = subscriber_json(sub)
            body["secret"] = secret  # shown once
            return jsonify(body), 201
        if kind == "email":
            # Email subscribers still confirm by mail: an API client must not opt anyone in.
            subs.request_subscription(data.get("email"), keys, ip=request.remote_addr)
            return jsonify(status="accepted", message="a confirmation email is queued for that address"), 202
    except subs.SubscriptionError as exc:
        db.session.rollback()
        return api_error(422, "invalid", str(exc), {exc.field or "subscriber": str(exc)})
    return api_error(422, "invalid", "kind must be webhook or email", {"kind": "webhook | email"})


def _subscriber(sub_id: int):
    return db.session.get(Subscriber, sub_id)


@bp.get("/subscribers/<int:sub_id>")
@api_auth("read")
def get_subscriber(sub_id: int):
    sub = _subscriber(sub_id)
    if sub is None:
        return api_error(404, "not_found", "no such subscriber")
    return jsonify(subscriber_json(sub))


@bp.delete("/subscribers/<int:sub_id>")
@api_auth("write")
def delete_subscriber(sub_id: int):
    sub = _subscriber(sub_id)
    if sub is None:
        return api_error(404, "not_found", "no such subscriber")
    subs.remove_subscriber(sub, actor=current_actor())
    return jsonify(subscriber_json(sub))


@bp.get("/outbox")
@api_auth("read")
def list_outbox():
    paging = _paging()
    if paging is None:
        return _bad_paging()
    status = request.args.get("status")
    stmt = select(OutboxMessage)
    if status is not None:
        if status not in OUTBOX_STATUSES:
            return api_error(400, "invalid_query", f"status must be one of {', '.join(OUTBOX_STATUSES)}",
                             {"status": status})
        stmt = stmt.where(OutboxMessage.status == status)
    for name in ("subscriber_id", "incident_id"):
        raw = request.args.get(name)
        if raw is not None:
            if not raw.isdigit():
                return api_error(400, "invalid_query", f"{name} must be an integer", {name: raw})
            stmt = stmt.where(getattr(OutboxMessage, name) == int(raw))
    rows = db.session.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(paging[0]).offset(paging[1]))
    return jsonify(counts=outbox_counts(), messages=[outbox_json(r) for r in rows])


@bp.get("/outbox/<int:row_id>")
@api_auth("read")
def get_outbox(row_id: int):
    row = db.session.get(OutboxMessage, row_id)
    if row is None:
        return api_error(404, "not_found", "no such outbox message")
    return jsonify(outbox_json(row))


@bp.post("/outbox/<int:row_id>/retry")
@api_auth("write")
def retry_outbox(row_id: int):
    try:
        row = retry_row(row_id, actor=current_actor())
    except OutboxError as exc:
        db.session.rollback()
        status = 404 if "no such" in str(exc) else 409
        return api_error(status, "not_found" if status == 404 else "conflict", str(exc))
    return jsonify(outbox_json(row))
