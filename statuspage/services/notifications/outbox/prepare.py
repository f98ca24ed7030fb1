"""Turning a claimed outbox row into bytes to send: rendered once per notification, personalised per recipient.

Nothing here writes; a row whose subscriber is gone, unsubscribed, quarantined or unconfirmed is
prepared as a cancellation, a row that cannot be rendered as a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ....mail.message import MessageTemplate
from .. import tokens
from ..account_mail import KINDS as ACCOUNT_KINDS
from ..account_mail import render_account_template
from ..content import (
    ContentGone,
    Notification,
    load_notification,
    render_subscription_email,
    unsubscribe_mailto,
)
from ..events import EVENTS
from ..oncall import render_oncall_alert


@dataclass
class Prepared:
    """One claimed row turned into plain data: nothing below touches the database while sending."""

    id: int
    channel: str
    recipient: str
    attempts: int
    subscriber_id: int | None
    action: str  # send | cancel | fail
    message: bytes = b""
    message_id: str | None = None
    secret: str | None = None
    reason: str = ""


# Kinds whose message is rendered from the row's own payload (not shared per notification).
TEMPLATE_RENDERERS: dict[str, Callable[[dict[str, Any], str], MessageTemplate]] = {
    "oncall_alert": render_oncall_alert,
    **{kind: render_account_template for kind in ACCOUNT_KINDS},
}


def _prepare_from_template(row: dict[str, Any], p: Prepared, ctx: DeliveryContext) -> Prepared:
    """Customer-contact, account-team and on-call mail: one recipient, rendered from the row's payload."""
    try:
        template = TEMPLATE_RENDERERS[row["kind"]](row, ctx.base_url)
        p.message = template.personalise(to=row["recipient"])
        p.message_id = template.message_id
    except ValueError as exc:
        p.action, p.reason = "fail", str(exc)
    return p


@dataclass
class DeliveryContext:
    """What one delivery run shares: the public URL, settings, and each notification rendered once."""

    base_url: str
    settings: Any
    notifications: dict[tuple, Notification | ContentGone] = field(default_factory=dict)

    def notification(self, kind: str, incident_id: int | None, update_id: int | None) -> Notification:
        key = (kind, incident_id, update_id)
        cached = self.notifications.get(key)
        if cached is None:
            try:
                cached = load_notification(kind, incident_id, update_id, self.base_url)
            except ContentGone as exc:
                cached = exc
            self.notifications[key] = cached
        if isinstance(cached, ContentGone):
            raise cached
        return cached


def prepare_row(row: dict[str, Any], ctx: DeliveryContext) -> Prepared:
    """A claimed row (with its subscriber's columns) as bytes to send, or a cancellation or failure."""
    base = Prepared(id=row["id"], channel=row["channel"], recipient=row["recipient"],
                    attempts=row["attempts"], subscriber_id=row["subscriber_id"], action="send")
    kind = row["kind"]
    if row["subscriber_id"] is not None and kind != "subscribe_confirm":
        if row["token_version"] is None:
            return _cancel(base, "subscriber deleted")
        if row["unsubscribed"]:
            return _cancel(base, "subscriber unsubscribed")
        if row["quarantined"]:
            return _cancel(base, "subscriber quarantined")
        if not row["confirmed"]:
            return _cancel(base, "subscriber not confirmed")
    if kind in TEMPLATE_RENDERERS:
        return _prepare_from_template(row, base, ctx)
    if kind in ("subscribe_confirm", "subscribe_manage"):
        return _prepare_subscription_mail(row, base, ctx)
    if kind in EVENTS:
        try:
            notification = ctx.notification(kind, row["incident_id"], row["update_id"])
        except ContentGone as exc:
            return _cancel(base, str(exc))
        return _prepare_event(row, base, notification, ctx)
    base.action, base.reason = "fail", f"no renderer for outbox kind {kind!r}"
    return base


def _cancel(p: Prepared, reason: str) -> Prepared:
    p.action, p.reason = "cancel", reason
    return p


def _links(row: dict[str, Any], ctx: DeliveryContext) -> tuple[str, str, str]:
    sid, version = row["subscriber_id"], row["token_version"]
    if sid is None:
        return "", "", ""
    unsub_token = tokens.make_token(sid, version, "unsubscribe")
    unsubscribe = tokens.link("unsubscribe", unsub_token, ctx.base_url)
    manage = tokens.link("manage", tokens.make_token(sid, version, "manage"), ctx.base_url)
    return unsubscribe, manage, unsubscribe_mailto(ctx.settings, unsub_token)


def _prepare_event(row: dict[str, Any], p: Prepared, n: Notification, ctx: DeliveryContext) -> Prepared:
    unsubscribe, manage, mailto = _links(row, ctx)
    if row["channel"] == "webhook":
        p.message = n.webhook(row["webhook_format"] or "statuspage", unsubscribe)
        p.secret = row["webhook_secret"]
        return p
    template = n.email()
    try:
        p.message = template.personalise(to=row["recipient"], unsubscribe_url=unsubscribe,
                                         unsubscribe_mailto=mailto, manage_url=manage)
    except ValueError as exc:
        p.action, p.reason = "fail", str(exc)
        return p
    p.message_id = template.message_id
    return p


def _prepare_subscription_mail(row: dict[str, Any], p: Prepared, ctx: DeliveryContext) -> Prepared:
    if row["token_version"] is None:
        return _cancel(p, "subscriber deleted")
    sid, version = row["subscriber_id"], row["token_version"]
    unsubscribe, manage, _mailto = _links(row, ctx)
    confirm = tokens.link("confirm", tokens.make_token(sid, version, "confirm"), ctx.base_url)
    try:
        p.message = render_subscription_email(row["kind"], row["recipient"], confirm_url=confirm,
                                              manage_url=manage, unsubscribe_url=unsubscribe,
                                              base_url=ctx.base_url)
    except ValueError as exc:
        p.action, p.reason = "fail", str(exc)
    return p
