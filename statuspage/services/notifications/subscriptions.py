"""Subscriber state: subscribe (double opt-in), confirm, change components, unsubscribe, quarantine.

Every transition of a subscriber is written here, and each commits; views, the API and the outbox
call these functions (the outbox's ``quarantine`` joins its transaction).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, or_, select, update

from ...db import utcnow
from ...extensions import db
from ...mail.message import is_safe_address
from ...models import Component, OutboxMessage, Subscriber, SubscriberComponent
from ...outbound import OutboundPolicy, OutboundRefused
from ...text import text_problem
from ..audit import Actor, record
from .events import enqueue_direct

WEBHOOK_FORMATS = ("statuspage", "slack")


class SubscriptionError(ValueError):
    """Input that cannot be accepted; ``field`` names the offending form/JSON field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str | None) -> str:
    """Trimmed, lower-cased, validated email; SubscriptionError otherwise."""
    if raw is not None and not isinstance(raw, str):
        raise SubscriptionError("Enter an email address as text.", "email")
    value = (raw or "").strip().lower()
    if not value:
        raise SubscriptionError("Enter your email address.", "email")
    if len(value) > 254 or not _EMAIL.match(value) or text_problem(value) or not is_safe_address(value):
        raise SubscriptionError("Enter a valid email address, like name@example.com.", "email")
    return value


def resolve_components(keys: list[str] | None) -> list[Component]:
    """Component slugs (or ids) from a form → public, live components; unknown keys are an error."""
    keys = [str(k).strip() for k in (keys or []) if str(k).strip()]
    if not keys:
        return []
    rows = list(db.session.scalars(select(Component).where(Component.archived_at.is_(None))))
    by_slug = {c.slug: c for c in rows}
    by_id = {str(c.id): c for c in rows}
    found: dict[int, Component] = {}
    unknown = []
    for key in keys:
        comp = by_slug.get(key) or by_id.get(key)
        if comp is None or not comp.public:
            unknown.append(key)
        else:
            found[comp.id] = comp
    if unknown:
        raise SubscriptionError(f"Unknown component: {', '.join(sorted(unknown)[:5])}.", "component")
    return list(found.values())


def _set_components(subscriber: Subscriber, components: list[Component]) -> None:
    db.session.execute(delete(SubscriberComponent).where(SubscriberComponent.subscriber_id == subscriber.id))
    subscriber.all_components = not components
    for comp in components:
        db.session.add(SubscriberComponent(subscriber_id=subscriber.id, component_id=comp.id))


@dataclass
class SubscribeOutcome:
    """For tests and logs only: what happened. Views must answer the same whatever this says."""

    subscriber: Subscriber
    mail: str  # confirm | manage | none (one was mailed within the interval)


def request_subscription(raw_email: str | None, component_keys: list[str] | None = None, *,
                         ip: str | None = None) -> SubscribeOutcome:
    """Start (or restart) a subscription: mail a confirmation link, or a "manage" link if confirmed.

    The caller must answer identically whatever the outcome, so nobody learns who is subscribed. An
    address gets at most one such mail per ``STATUSPAGE_SUBSCRIPTION_MAIL_INTERVAL`` however often the
    form is sent (``mail`` is then "none"). A request for an address that unsubscribed (or bounced)
    starts over as pending with new links: confirmation links mailed before can never re-activate it.
    Commits.
    """
    email_addr = normalize_email(raw_email)
    components = resolve_components(component_keys)
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == email_addr))
    if subscriber is not None and subscriber.active:
        # Already subscribed: do not change anything on an unauthenticated request; send the owner
        # a link to their preferences instead.
        mailed = _enqueue_link_mail(subscriber, "subscribe_manage")
        db.session.commit()
        return SubscribeOutcome(subscriber, "manage" if mailed else "none")
    if subscriber is None:
        subscriber = Subscriber(kind="email", email=email_addr, all_components=True, token_version=1)
        db.session.add(subscriber)
        db.session.flush()
    elif subscriber.unsubscribed_at is not None or subscriber.quarantined_at is not None:
        subscriber.unsubscribed_at = None
        subscriber.quarantined_at = None
        subscriber.confirmed_at = None
        subscriber.token_version += 1  # every link mailed before is void
    # Pending: the new request's choice of components applies once the owner confirms it (the
    # confirmation mail goes to the address itself).
    _set_components(subscriber, components)
    mailed = _enqueue_link_mail(subscriber, "subscribe_confirm")
    record(Actor(type="anonymous", label="public", ip=ip, role="viewer"), "subscriber.request", "subscriber",
           subscriber.id, after={"mailed": mailed})
    db.session.commit()
    return SubscribeOutcome(subscriber, "confirm" if mailed else "none")


def _enqueue_link_mail(subscriber: Subscriber, kind: str) -> bool:
    """Queue a confirmation/manage mail unless one went to this address within the interval.

    The interval is claimed with one conditional UPDATE, so concurrent requests (any process) agree.
    """
    interval = current_app.extensions["statuspage.settings"].subscription_mail_interval
    now = utcnow()
    claimed = db.session.execute(
        update(Subscriber).where(Subscriber.id == subscriber.id, or_(
            Subscriber.link_mailed_at.is_(None), Subscriber.link_mailed_at <= now - dt.timedelta(seconds=interval)))
        .values(link_mailed_at=now).execution_options(synchronize_session=False)).rowcount == 1
    if claimed:
        enqueue_direct(f"{kind}:{subscriber.id}:{subscriber.token_version}:{int(now.timestamp() * 1000)}",
                       kind=kind, recipient=subscriber.email or "", subscriber_id=subscriber.id)
    return claimed


def confirm(subscriber: Subscriber) -> str:
    """Confirm a pending subscription from its signed link. Commits.

    Returns "confirmed", "already" (confirmed and active) or "cancelled": an address that unsubscribed
    since is not re-activated by an old link (a new request mails a new one; the manage link's
    "resubscribe" is the owner's way back).
    """
    if subscriber.active:
        return "already"
    if subscriber.unsubscribed_at is not None:
        return "cancelled"
    subscriber.confirmed_at = utcnow()
    subscriber.quarantined_at = None
    subscriber.failure_count = 0
    subscriber.last_error = None
    record(Actor(type="anonymous", label="subscriber link", role="viewer"), "subscriber.confirm", "subscriber",
           subscriber.id)
    db.session.commit()
    return "confirmed"


def resubscribe(subscriber: Subscriber) -> bool:
    """The owner asks again from the manage link (owning the address is the confirmation). Commits.

    Lifts an unsubscribe or quarantine; returns False when the subscription was already active.
    """
    if subscriber.active:
        return False
    subscriber.confirmed_at = subscriber.confirmed_at or utcnow()
    subscriber.unsubscribed_at = None
    subscriber.quarantined_at = None
    subscriber.failure_count = 0
    subscriber.last_error = None
    record(Actor(type="anonymous", label="subscriber link", role="viewer"), "subscriber.resubscribe",
           "subscriber", subscriber.id)
    db.session.commit()
    return True


def unsubscribe(subscriber: Subscriber, *, actor: Actor | None = None, reason: str = "link") -> bool:
    """Stop all mail to this subscriber at once (pending outbox rows are cancelled). Commits.

    Returns False if they were already unsubscribed.
    """
    if subscriber.unsubscribed_at is not None:
        return False
    subscriber.unsubscribed_at = utcnow()
    subscriber.link_mailed_at = None  # the owner acted: a later request may mail a link at once
    _cancel_pending(subscriber.id, f"unsubscribed ({reason})")
    record(actor or Actor(type="anonymous", label="subscriber link", role="viewer"), "subscriber.unsubscribe",
           "subscriber", subscriber.id, after={"reason": reason})
    db.session.commit()
    return True


def resend_confirmation(subscriber: Subscriber, *, actor: Actor) -> bool:
    """Mail a pending email subscriber their confirmation link again. Commits.

    Returns False (and sends nothing) unless the subscriber is an email subscriber still waiting to
    confirm — nobody who confirmed, unsubscribed or bounces gets this mail — or when a link was mailed
    within ``STATUSPAGE_SUBSCRIPTION_MAIL_INTERVAL`` (one per window, like a public request).
    """
    if subscriber.kind != "email" or subscriber.state != "pending":
        return False
    mailed = _enqueue_link_mail(subscriber, "subscribe_confirm")
    record(actor, "subscriber.resend_confirmation", "subscriber", subscriber.id, after={"mailed": mailed})
    db.session.commit()
    return mailed


IMPORT_STATES = ("active", "unconfirmed", "quarantined", "unsubscribed")


@dataclass
class ImportedSubscriber:
    """An email subscriber brought over from another status page, in the state it had there."""

    email: str
    state: str  # active | unconfirmed | quarantined | unsubscribed
    components: list[Component] | None  # None: every component
    created_at: dt.datetime | None = None
    quarantined_at: dt.datetime | None = None


def import_email_subscribers(records: list[ImportedSubscriber], *, actor: Actor,
                             now: dt.datetime | None = None) -> dict[str, tuple[int, str]]:
    """Write imported email subscribers in their state; never mails anyone. Does not commit.

    Returns {email: (subscriber id, "created" | "updated" | "unchanged")}. Nobody is ever
    re-subscribed: a local unsubscribe stays whatever the other page says, and an unsubscribe there
    unsubscribes here. Someone who confirmed there counts as confirmed; someone who never confirmed
    stays pending (no mail is sent, so they stay so until they subscribe again). The component choice
    follows the record. New subscribers are written with one multi-row INSERT: tens of thousands come
    in pages of a hundred.
    """
    now = now or utcnow()
    by_email: dict[str, ImportedSubscriber] = {}
    for rec in records:
        if rec.state not in IMPORT_STATES:
            raise ValueError(f"state must be one of {IMPORT_STATES}")
        by_email[normalize_email(rec.email)] = rec
    if not by_email:
        return {}
    existing = {s.email: s for s in db.session.scalars(
        select(Subscriber).where(Subscriber.email.in_(list(by_email))))}

    def state_of(sub: Subscriber, comps: list[int]) -> tuple:
        return (sub.confirmed_at, sub.unsubscribed_at, sub.quarantined_at, sub.all_components, comps)

    def components_of(email: str) -> list[int]:
        return sorted({c.id for c in by_email[email].components or []})

    new_rows = []
    for email, rec in by_email.items():
        if email in existing:
            continue
        confirmed = rec.state in ("active", "quarantined")
        new_rows.append({
            "kind": "email", "email": email, "all_components": not components_of(email), "token_version": 1,
            "webhook_format": "statuspage", "failure_count": 0, "created_at": rec.created_at or now,
            "confirmed_at": (rec.created_at or now) if confirmed else None,
            "unsubscribed_at": now if rec.state == "unsubscribed" else None,
            "quarantined_at": (rec.quarantined_at or now) if rec.state == "quarantined" else None})
    out: dict[str, tuple[int, str]] = {}
    if new_rows:
        db.session.execute(Subscriber.__table__.insert(), new_rows)
        for sid, email in db.session.execute(select(Subscriber.id, Subscriber.email).where(
                Subscriber.email.in_([r["email"] for r in new_rows]))):
            out[email] = (sid, "created")
    updated = 0
    for email, sub in existing.items():
        rec = by_email[email]
        before = state_of(sub, sorted(c.component_id for c in sub.components))
        confirmed = rec.state in ("active", "quarantined")
        if rec.state == "unsubscribed" and sub.unsubscribed_at is None:
            sub.unsubscribed_at = now
            _cancel_pending(sub.id, "unsubscribed on the page it was imported from")
        if confirmed and sub.confirmed_at is None and sub.unsubscribed_at is None:
            sub.confirmed_at = rec.created_at or now
        if rec.state == "quarantined" and sub.quarantined_at is None and sub.unsubscribed_at is None:
            sub.quarantined_at = rec.quarantined_at or now
        sub.all_components = not components_of(email)
        outcome = "updated" if before != state_of(sub, components_of(email)) else "unchanged"
        updated += int(outcome == "updated")
        out[email] = (sub.id, outcome)
    db.session.flush()
    if existing:
        db.session.execute(delete(SubscriberComponent).where(
            SubscriberComponent.subscriber_id.in_([s.id for s in existing.values()])))
    links = [{"subscriber_id": out[email][0], "component_id": cid} for email in by_email
             for cid in components_of(email)]
    if links:
        db.session.execute(SubscriberComponent.__table__.insert(), links)
    for sub in existing.values():
        db.session.expire(sub, ["components"])
    if new_rows or updated:
        record(actor, "subscriber.import", "subscriber", None,
               after={"created": len(new_rows), "updated": updated, "records": len(by_email)})
    return out


def update_components(subscriber: Subscriber, component_keys: list[str] | None, *,
                      actor: Actor | None = None) -> None:
    """Replace the components a subscriber follows (none = everything). Commits."""
    components = resolve_components(component_keys)
    _set_components(subscriber, components)
    record(actor or Actor(type="anonymous", label="subscriber link", role="viewer"), "subscriber.components",
           "subscriber", subscriber.id, after={"components": [c.slug for c in components] or "all"})
    db.session.commit()


def quarantine(subscriber_id: int, reason: str) -> None:
    """Stop delivering to a subscriber whose mail bounces or whose webhook keeps failing.

    Runs in the caller's transaction (the outbox); pending rows for the subscriber are cancelled.
    """
    db.session.execute(update(Subscriber).where(Subscriber.id == subscriber_id,
                                                Subscriber.quarantined_at.is_(None))
                       .values(quarantined_at=utcnow(), last_error=reason[:1000]))
    _cancel_pending(subscriber_id, f"subscriber quarantined: {reason}"[:1000])
    record(Actor.system("outbox"), "subscriber.quarantine", "subscriber", subscriber_id, after={"reason": reason})


def lift_quarantine(subscriber: Subscriber, *, actor: Actor) -> None:
    """A person decided the address or endpoint works again. Commits."""
    subscriber.quarantined_at = None
    subscriber.failure_count = 0
    record(actor, "subscriber.unquarantine", "subscriber", subscriber.id)
    db.session.commit()


def _cancel_pending(subscriber_id: int, reason: str) -> None:
    db.session.execute(update(OutboxMessage).where(OutboxMessage.subscriber_id == subscriber_id,
                                                   OutboxMessage.status == "pending")
                       .values(status="cancelled", last_error=reason))


def validate_webhook_url(raw: str | None) -> str:
    """The trimmed URL if the outbound policy lets webhooks go there now (resolved and vetted)."""
    if raw is not None and not isinstance(raw, str):
        raise SubscriptionError("Enter the URL as text.", "url")
    url = (raw or "").strip()
    if not url:
        raise SubscriptionError("Enter an absolute http(s) URL.", "url")
    policy = OutboundPolicy.from_settings(current_app.extensions["statuspage.settings"])
    try:
        policy.check_url(url)
    except OutboundRefused as exc:
        raise SubscriptionError(f"{exc}.", "url") from None
    return url


def create_webhook_subscriber(url: str | None, component_keys: list[str] | None = None, *,
                              fmt: str = "statuspage", actor: Actor) -> tuple[Subscriber, str]:
    """Add a webhook subscriber (confirmed at once: staff add it). Returns (subscriber, secret).

    The secret signs every delivery (HMAC-SHA256); it is shown once to whoever added it. Commits.
    """
    clean_url = validate_webhook_url(url)
    if fmt not in WEBHOOK_FORMATS:
        raise SubscriptionError(f"format must be one of {', '.join(WEBHOOK_FORMATS)}", "format")
    components = resolve_components(component_keys)
    secret = "whsec_" + secrets.token_urlsafe(32)
    now = utcnow()
    subscriber = Subscriber(kind="webhook", webhook_url=clean_url, webhook_secret=secret, webhook_format=fmt,
                            all_components=True, confirmed_at=now, token_version=1)
    db.session.add(subscriber)
    db.session.flush()
    _set_components(subscriber, components)
    record(actor, "subscriber.create_webhook", "subscriber", subscriber.id,
           after={"url": clean_url, "format": fmt, "components": [c.slug for c in components] or "all"})
    db.session.commit()
    return subscriber, secret


def remove_subscriber(subscriber: Subscriber, *, actor: Actor) -> None:
    """Staff removal: unsubscribes (history of sent rows is kept) and revokes every link. Commits."""
    subscriber.token_version += 1
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = utcnow()
    _cancel_pending(subscriber.id, "removed by staff")
    record(actor, "subscriber.remove", "subscriber", subscriber.id)
    db.session.commit()


def component_names(subscriber: Subscriber) -> list[str]:
    """Names of the components a subscriber follows, in display order ([] for every component)."""
    if subscriber.all_components:
        return []
    ids = [sc.component_id for sc in subscriber.components]
    if not ids:
        return []
    return list(db.session.scalars(select(Component.name).where(Component.id.in_(ids)).order_by(Component.position)))


def component_slugs(subscriber: Subscriber) -> list[str]:
    """Slugs of the components a subscriber follows, in display order ([] for every component)."""
    if subscriber.all_components:
        return []
    ids = [sc.component_id for sc in subscriber.components]
    if not ids:
        return []
    return list(db.session.scalars(select(Component.slug).where(Component.id.in_(ids)).order_by(Component.position)))
