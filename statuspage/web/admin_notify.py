"""Console: subscribers (add webhooks, remove, lift quarantine) and the outbox (state, errors, retry)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import OutboxMessage, Subscriber
from ..models.constants import OUTBOX_STATUSES
from ..services.notifications import subscriptions as subs
from ..services.notifications.outbox.console import OutboxError, outbox_counts, retry_row
from ..services.page import get_page
from ..services.site.public import grouped, public_components
from .authz import EVERYONE, current_actor, require_role
from .disclosure import sees_secrets
from .query import page_number

bp = Blueprint("admin_notify", __name__, url_prefix="/admin")
PAGE_SIZE = 100
STATES = ("active", "pending", "unsubscribed", "quarantined")


def subscriber_filter(stmt, state: str | None, kind: str | None, q: str | None, *, match_urls: bool = False):
    S = Subscriber  # noqa: N806
    if state == "active":
        stmt = stmt.where(S.confirmed_at.is_not(None), S.unsubscribed_at.is_(None), S.quarantined_at.is_(None))
    elif state == "pending":
        stmt = stmt.where(S.confirmed_at.is_(None), S.unsubscribed_at.is_(None))
    elif state == "unsubscribed":
        stmt = stmt.where(S.unsubscribed_at.is_not(None))
    elif state == "quarantined":
        stmt = stmt.where(S.quarantined_at.is_not(None), S.unsubscribed_at.is_(None))
    if kind in ("email", "webhook"):
        stmt = stmt.where(S.kind == kind)
    if q:
        like = f"%{q.strip().lower()}%"
        if match_urls:  # admins only: matching a secret URL would reveal it character by character
            stmt = stmt.where(or_(func.lower(S.email).like(like), func.lower(S.webhook_url).like(like)))
        else:
            stmt = stmt.where(func.lower(S.email).like(like))
    return stmt


@bp.get("/subscribers")
@require_role(*EVERYONE)
def subscribers():
    state = request.args.get("state") if request.args.get("state") in STATES else None
    kind = request.args.get("kind") if request.args.get("kind") in ("email", "webhook") else None
    q = (request.args.get("q") or "").strip()[:200]
    number = page_number()
    urls = sees_secrets()
    base = subscriber_filter(select(Subscriber), state, kind, q, match_urls=urls)
    total = db.session.scalar(subscriber_filter(select(func.count(Subscriber.id)), state, kind, q, match_urls=urls))
    rows = list(db.session.scalars(base.order_by(Subscriber.id.desc()).limit(PAGE_SIZE)
                                   .offset((number - 1) * PAGE_SIZE)))
    return render_template("admin/subscribers.html", page=get_page(), rows=rows, total=total, state=state,
                           kind=kind, q=q, number=number, page_size=PAGE_SIZE, states=STATES,
                           groups=grouped(public_components()),
                           slugs_of=subs.component_slugs, errors={})


@bp.post("/subscribers/webhooks")
@require_role("responder")
def add_webhook():
    try:
        sub, secret = subs.create_webhook_subscriber(
            request.form.get("url"), request.form.getlist("component"),
            fmt=request.form.get("format", "statuspage"), actor=current_actor())
    except subs.SubscriptionError as exc:
        db.session.rollback()
        flash(f"Webhook not added: {exc}", "error")
        return redirect(url_for(".subscribers", kind="webhook"))
    flash(f"Webhook #{sub.id} added. Its signing secret (shown only now): {secret}", "success")
    return redirect(url_for(".subscribers", kind="webhook"))


def _subscriber_or_404(sub_id: int) -> Subscriber:
    sub = db.session.get(Subscriber, sub_id)
    if sub is None:
        abort(404)
    return sub


@bp.post("/subscribers/<int:sub_id>/remove")
@require_role("responder")
def remove_subscriber(sub_id: int):
    subs.remove_subscriber(_subscriber_or_404(sub_id), actor=current_actor())
    flash(f"Subscriber #{sub_id} removed; every link it was sent is revoked.", "success")
    return redirect(request.referrer or url_for(".subscribers"))


@bp.post("/subscribers/<int:sub_id>/unquarantine")
@require_role("responder")
def unquarantine(sub_id: int):
    subs.lift_quarantine(_subscriber_or_404(sub_id), actor=current_actor())
    flash(f"Subscriber #{sub_id} will receive notifications again.", "success")
    return redirect(request.referrer or url_for(".subscribers"))


@bp.get("/outbox")
@require_role(*EVERYONE)
def outbox():
    status = request.args.get("status") if request.args.get("status") in OUTBOX_STATUSES else None
    number = page_number()
    stmt = select(OutboxMessage)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    rows = list(db.session.scalars(stmt.order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE)
                                   .offset((number - 1) * PAGE_SIZE)))
    return render_template("admin/outbox.html", page=get_page(), rows=rows, status=status,
                           statuses=OUTBOX_STATUSES, counts=outbox_counts(), number=number, page_size=PAGE_SIZE)


@bp.post("/outbox/<int:row_id>/retry")
@require_role("responder")
def retry(row_id: int):
    try:
        retry_row(row_id, actor=current_actor())
    except OutboxError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(f"Message #{row_id} is queued again.", "success")
    return redirect(request.referrer or url_for(".outbox"))
