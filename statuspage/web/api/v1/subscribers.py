"""/api/v1 subscribers (webhooks added at once, email by double opt-in) and the outbox (read, retry).

These lists answer inside an object (``{"total", "subscribers": [...]}``, ``{"counts", "messages": [...]}``),
as they always did, with the same paging headers as every other list.
"""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from ....extensions import db
from ....models import OutboxMessage, Subscriber
from ....models.constants import OUTBOX_STATUSES
from ....services.notifications import subscriptions as subs
from ....services.notifications.outbox.console import outbox_counts, retry_row
from ...admin_notify import STATES, subscriber_filter
from ...authz import api_auth, current_actor
from ...disclosure import sees_secrets
from ..toolkit import (
    ENVELOPES,
    PAGE_PARAMS,
    ApiError,
    RequestFields,
    accepts_query,
    json_body,
    paginate,
    query_fields,
)
from .blueprint import bp
from .serializers import outbox_json, subscriber_json

KINDS = ("webhook", "email")
MAX_ID = 2**31 - 1


def _subscriber(sub_id: int) -> Subscriber:
    sub = db.session.get(Subscriber, sub_id)
    if sub is None:
        raise ApiError.not_found("no such subscriber")
    return sub


@bp.get("/subscribers")
@api_auth("read")
@accepts_query(*PAGE_PARAMS, "state", "kind", "q")
def list_subscribers():
    f = query_fields()
    state, kind, q = f.choice("state", STATES), f.choice("kind", KINDS), f.text("q", max_len=200)
    f.done()
    page = paginate(subscriber_filter(select(Subscriber), state, kind, q, match_urls=sees_secrets())
                    .order_by(Subscriber.id), ENVELOPES)
    return page.respond({"total": page.total, "subscribers": [subscriber_json(s) for s in page.rows]})


@bp.post("/subscribers")
@api_auth("write")
def create_subscriber():
    """A webhook (its signing secret is shown once), or an email address that must confirm by mail."""
    f = RequestFields(json_body(), allowed={"kind", "url", "email", "format", "components"})
    kind = f.choice("kind", KINDS, default="webhook")
    url, email = f.text("url", max_len=1000), f.text("email", max_len=320)
    fmt = f.text("format", max_len=20) or "statuspage"
    keys = []
    for i, key in enumerate(f.listing("components", max_items=500)):
        if isinstance(key, bool) or not isinstance(key, str | int):
            f.errors.add(f"components[{i}]", "must be a component slug")
        keys.append(str(key))
    f.done()
    if kind == "email":
        # Email subscribers still confirm by mail: an API client must not opt anyone in.
        subs.request_subscription(email, keys, ip=request.remote_addr)
        return jsonify(status="accepted", message="a confirmation email is queued for that address"), 202
    sub, secret = subs.create_webhook_subscriber(url, keys, fmt=fmt, actor=current_actor())
    return jsonify({**subscriber_json(sub), "secret": secret}), 201  # the secret is shown this once


@bp.get("/subscribers/<int:sub_id>")
@api_auth("read")
def get_subscriber(sub_id: int):
    return jsonify(subscriber_json(_subscriber(sub_id)))


@bp.delete("/subscribers/<int:sub_id>")
@api_auth("write")
def delete_subscriber(sub_id: int):
    sub = _subscriber(sub_id)
    subs.remove_subscriber(sub, actor=current_actor())
    return jsonify(subscriber_json(sub))


@bp.get("/outbox")
@api_auth("read")
@accepts_query(*PAGE_PARAMS, "status", "subscriber_id", "incident_id")
def list_outbox():
    f = query_fields()
    status = f.choice("status", OUTBOX_STATUSES)
    ids = {name: f.integer(name, 1, MAX_ID, text_ok=True) for name in ("subscriber_id", "incident_id")}
    f.done()
    stmt = select(OutboxMessage)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    for name, value in ids.items():
        if value is not None:
            stmt = stmt.where(getattr(OutboxMessage, name) == value)
    page = paginate(stmt.order_by(OutboxMessage.id.desc()), ENVELOPES)
    return page.respond({"counts": outbox_counts(), "messages": [outbox_json(r) for r in page.rows]})


@bp.get("/outbox/<int:row_id>")
@api_auth("read")
def get_outbox(row_id: int):
    row = db.session.get(OutboxMessage, row_id)
    if row is None:
        raise ApiError.not_found("no such outbox message")
    return jsonify(outbox_json(row))


@bp.post("/outbox/<int:row_id>/retry")
@api_auth("write")
def retry_outbox(row_id: int):
    return jsonify(outbox_json(retry_row(row_id, actor=current_actor())))
