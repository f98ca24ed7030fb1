"""``/pages/{page_id}/subscribers``: email and webhook subscribers, through services.subscriptions.

Email subscribers always confirm by mail (double opt-in): ``skip_confirmation_notification`` is refused
rather than silently ignored. SMS, Slack and integration-partner subscribers do not exist here, so
they are counted as 0 and cannot be created. Unsubscribed subscribers are listed only by
``/subscribers/unsubscribed``, as in Statuspage; ``state`` is an extra field of ours on each subscriber.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from sqlalchemy import func, select

from ...extensions import db
from ...models import Subscriber
from ...services.notifications import subscriptions as subs
from ..authz import current_actor
from .components import find_components
from .core import StatuspageError, created, no_content, query_choice, query_int, route
from .forms import Fields, request_body
from .serializers import subscriber_components, subscriber_json

TYPES = ("email", "sms", "webhook", "slack", "integration_partner")
STATES = ("active", "unconfirmed", "quarantined", "all")
BULK_LIMIT = 100


def _in_state(query, state: str):
    live = query.where(Subscriber.unsubscribed_at.is_(None))
    if state == "active":
        return live.where(Subscriber.confirmed_at.is_not(None), Subscriber.quarantined_at.is_(None))
    if state == "unconfirmed":
        return live.where(Subscriber.confirmed_at.is_(None), Subscriber.quarantined_at.is_(None))
    if state == "quarantined":
        return live.where(Subscriber.quarantined_at.is_not(None))
    return live


def _of_type(query, kind: str | None):
    if kind is None:
        return query
    if kind not in ("email", "webhook"):
        return query.where(Subscriber.id.is_(None))  # none of those here
    return query.where(Subscriber.kind == kind)


def _render(rows: list[Subscriber]):
    components = subscriber_components(rows)
    return jsonify([subscriber_json(s, components[s.id]) for s in rows])


def find_subscriber(subscriber_id: str) -> Subscriber:
    sub = db.session.get(Subscriber, int(subscriber_id)) if subscriber_id.isdigit() and len(subscriber_id) < 10 \
        else None
    if sub is None:
        raise StatuspageError(404, f"no subscriber {subscriber_id!r}")
    return sub


def _payload(sub: Subscriber) -> dict[str, Any]:
    return subscriber_json(sub, subscriber_components([sub])[sub.id])


def _one(sub: Subscriber):
    return jsonify(_payload(sub))


@route("/pages/<spid:page_id>/subscribers",
       query=("q", "type", "state", "limit", "page", "sort_field", "sort_direction"))
def subscribers_list():
    q = request.args.get("q") or None
    kind = query_choice("type", TYPES)
    state = query_choice("state", STATES, "active") or "active"
    limit = query_int("limit", 100, 1, 100 if q else 1000)
    page = query_int("page", 0, 0, 10_000_000)
    sort_field = query_choice("sort_field", ("primary", "created_at", "quarantined_at", "relevance"), "primary")
    if sort_field == "relevance" and not q:
        raise StatuspageError(400, "sort_field relevance needs a search text (q)")
    descending = query_choice("sort_direction", ("asc", "desc"), "asc") == "desc"
    query = _of_type(_in_state(select(Subscriber), state), kind)
    if q:
        if len(q) > 320:
            raise StatuspageError(400, "q is at most 320 characters")
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(func.coalesce(Subscriber.email, Subscriber.webhook_url))
                            .like(pattern, escape="\\"))
    # The identifying field: the address (indexed, so a page of email subscribers needs no sort of them all).
    primary = Subscriber.email if kind == "email" else func.coalesce(Subscriber.email, Subscriber.webhook_url)
    column = {"created_at": Subscriber.created_at, "quarantined_at": Subscriber.quarantined_at}.get(
        sort_field or "", primary)
    order = [column.desc() if descending else column.asc(), Subscriber.id.desc() if descending else Subscriber.id]
    return _render(db.session.scalars(query.order_by(*order).limit(limit).offset(page * limit)).all())


@route("/pages/<spid:page_id>/subscribers/unsubscribed", query=("page", "per_page"))
def subscribers_unsubscribed():
    per_page = query_int("per_page", 100, 1, 100)
    page = query_int("page", 1, 1, 10_000_000)
    query = select(Subscriber).where(Subscriber.unsubscribed_at.is_not(None)).order_by(Subscriber.id)
    return _render(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all())


def _counts(state: str) -> dict[str, int]:
    rows = dict(db.session.execute(_in_state(select(Subscriber.kind, func.count(Subscriber.id)), state)
                                   .group_by(Subscriber.kind)).all())
    return {kind: int(rows.get(kind, 0)) for kind in TYPES}


@route("/pages/<spid:page_id>/subscribers/count", query=("type", "state"))
def subscribers_count():
    kind = query_choice("type", TYPES)
    counts = _counts(query_choice("state", STATES, "active") or "active")
    return jsonify({kind: counts[kind]} if kind else counts)


@route("/pages/<spid:page_id>/subscribers/histogram_by_state")
def subscribers_histogram():
    per_state = {state: _counts(state) for state in ("active", "unconfirmed", "quarantined")}
    return jsonify({kind: {**{state: per_state[state][kind] for state in per_state},
                           "total": sum(per_state[state][kind] for state in per_state)} for kind in TYPES})


@route("/pages/<spid:page_id>/subscribers", methods=("POST",), scope="write")
def subscriber_create():
    f = Fields.envelope(request_body(), "subscriber", known=(
        "email", "endpoint", "component_ids", "skip_confirmation_notification", "phone_country", "phone_number",
        "page_access_user"))
    if f.boolean("skip_confirmation_notification"):
        raise StatuspageError(422, "skip_confirmation_notification is not supported: email subscribers confirm "
                                   "their address by mail")
    if f.has("phone_number") or f.has("phone_country"):
        raise StatuspageError(422, "SMS subscribers are not supported")
    if f.has("page_access_user"):
        raise StatuspageError(422, "page access users are not supported")
    ids = f.id_list("component_ids")
    if ids is not None and not ids:
        raise StatuspageError(422, "subscriber[component_ids] must list at least one component when given")
    keys = [c.slug for c in find_components(ids, "subscriber[component_ids]")] if ids else []
    endpoint = f.text("endpoint", max_len=1000)
    if endpoint:
        sub, secret = subs.create_webhook_subscriber(endpoint, keys, actor=current_actor())
        return created({**_payload(sub), "secret": secret})  # signs every delivery; shown once
    email = f.text("email", max_len=320, required=True)
    outcome = subs.request_subscription(email, keys, ip=request.remote_addr)
    return created(_payload(outcome.subscriber))


@route("/pages/<spid:page_id>/subscribers/<spid:subscriber_id>")
def subscriber_get(subscriber_id: str):
    return _one(find_subscriber(subscriber_id))


@route("/pages/<spid:page_id>/subscribers/<spid:subscriber_id>", methods=("PATCH", "PUT"), scope="write")
def subscriber_update(subscriber_id: str):
    sub = find_subscriber(subscriber_id)
    f = Fields(request_body(), "", known=("component_ids",))
    ids = f.id_list("component_ids")
    if ids is not None and not ids:
        raise StatuspageError(422, "component_ids must list at least one component; leave it out for every "
                                   "component")
    keys = [c.slug for c in find_components(ids, "component_ids")] if ids else []
    subs.update_components(sub, keys, actor=current_actor())
    return _one(sub)


@route("/pages/<spid:page_id>/subscribers/<spid:subscriber_id>", methods=("DELETE",), scope="write",
       query=("skip_unsubscription_notification",))
def subscriber_unsubscribe(subscriber_id: str):
    sub = find_subscriber(subscriber_id)
    subs.unsubscribe(sub, actor=current_actor(), reason="api")
    return _one(sub)


@route("/pages/<spid:page_id>/subscribers/<spid:subscriber_id>/resend_confirmation", methods=("POST",),
       scope="write")
def subscriber_resend(subscriber_id: str):
    subs.resend_confirmation(find_subscriber(subscriber_id), actor=current_actor())
    return no_content(201)


# --- bulk --------------------------------------------------------------------------------------------


def _bulk(f: Fields, *, state: str, allow_all: bool) -> list[Subscriber]:
    """The subscribers a bulk request names: a list of ids, or "all" (filtered by type and state)."""
    value = f.data.get("subscribers")
    if value == "all" and allow_all:
        query = _of_type(_in_state(select(Subscriber), state), f.text("type", max_len=30) or None)
        return list(db.session.scalars(query.order_by(Subscriber.id).limit(BULK_LIMIT + 1)))
    ids = f.id_list("subscribers", limit=BULK_LIMIT)
    if not ids:
        raise StatuspageError(400, 'subscribers must list subscriber ids (or be "all")')
    return [find_subscriber(i) for i in ids]


def _bulk_fields(*extra: str) -> Fields:
    return Fields(request_body(), "", known=("subscribers", "type", *extra))


def _check_type(f: Fields) -> None:
    kind = f.text("type", max_len=30)
    if kind is not None and kind not in TYPES:
        raise StatuspageError(422, f"type must be one of {', '.join(TYPES)}")


@route("/pages/<spid:page_id>/subscribers/resend_confirmation", methods=("POST",), scope="write")
def subscribers_resend():
    f = _bulk_fields()
    _check_type(f)
    for sub in _bulk(f, state="unconfirmed", allow_all=True)[:BULK_LIMIT]:
        subs.resend_confirmation(sub, actor=current_actor())
    return no_content(201)


@route("/pages/<spid:page_id>/subscribers/unsubscribe", methods=("POST",), scope="write")
def subscribers_unsubscribe():
    f = _bulk_fields("state", "skip_unsubscription_notification")
    _check_type(f)
    state = f.text("state", max_len=20) or "active"
    if state not in STATES:
        raise StatuspageError(422, f"state must be one of {', '.join(STATES)}")
    chosen = _bulk(f, state=state, allow_all=True)
    if len(chosen) > BULK_LIMIT:
        raise StatuspageError(422, f'"all" unsubscribes at most {BULK_LIMIT} subscribers; list their ids')
    for sub in chosen:
        subs.unsubscribe(sub, actor=current_actor(), reason="api")
    return no_content(201)


@route("/pages/<spid:page_id>/subscribers/reactivate", methods=("POST",), scope="write")
def subscribers_reactivate():
    f = _bulk_fields()
    _check_type(f)
    chosen = _bulk(f, state="quarantined", allow_all=True)
    for sub in chosen[:BULK_LIMIT]:
        if sub.quarantined_at is not None:
            subs.lift_quarantine(sub, actor=current_actor())
    return no_content(201)
