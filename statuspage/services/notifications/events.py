"""Notifications: turn domain events into outbox rows, in the caller's transaction.

The incident, maintenance and postmortem services call ``notify_event`` inside the transaction that
records the event, so an update is never stored without its notifications nor the reverse.

Fan-out is one ``INSERT … SELECT … ON CONFLICT (dedupe_key) DO NOTHING``: the database picks the
recipients (active subscribers of the affected components, or of everything) and writes one row per
recipient without a single ORM object — 100,000 recipients take seconds, not minutes. Rows carry only
what differs per recipient (address, subscriber id); the content is rendered once per notification at
delivery time (``notifications.outbox``).
"""

from __future__ import annotations

from sqlalchemy import String, and_, cast, exists, literal, or_, select, true
from sqlalchemy.sql import func

from ...db import insert_ignore, utcnow
from ...extensions import db
from ...models import (
    Incident,
    IncidentComponent,
    IncidentUpdate,
    OutboxMessage,
    Subscriber,
    SubscriberComponent,
)
from .account_mail import enqueue_account_notifications

EVENTS = (
    "incident_created",
    "incident_updated",
    "incident_resolved",
    "postmortem_published",
    "maintenance_scheduled",
    "maintenance_reminder",
    "maintenance_started",
    "maintenance_completed",
    "maintenance_cancelled",
)


def should_notify(event: str, incident: Incident, update: IncidentUpdate | None) -> bool:
    """Drafts, internal notes and anything with its notify flag off send nothing."""
    if incident.published_at is None or not incident.notify:
        return False
    if update is not None and (update.internal or not update.notify):
        return False
    return True


def dedupe_prefix(event: str, incident: Incident, update: IncidentUpdate | None) -> str:
    return f"{event}:{incident.id}:{update.id if update is not None else '-'}:sub:"


def notify_event(event: str, incident: Incident, update: IncidentUpdate | None = None) -> int:
    """Enqueue the outbox rows for `event` on `incident` (and its `update`); return how many.

    Callers must have flushed `incident` and `update` (they need ids) and commit themselves: the rows
    are part of the caller's transaction. Recipients: confirmed, not unsubscribed, not quarantined
    subscribers (email and webhook) who follow every component or one of the incident's components.
    Calling it twice for the same event and update adds nothing (dedupe key).
    """
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    if incident.id is None or (update is not None and update.id is None):
        raise ValueError("flush the incident and update before notify_event (they need ids)")
    if not should_notify(event, incident, update):
        return 0
    db.session.flush()  # the incident's components must be visible to the INSERT … SELECT
    count = fan_out(event, incident.id, update.id if update is not None else None,
                    dedupe_prefix(event, incident, update))
    # The contacts of affected customer accounts, and each account team about its own accounts.
    return count + enqueue_account_notifications(event, incident, update)


def fan_out(event: str, incident_id: int, update_id: int | None, prefix: str) -> int:
    """One INSERT … SELECT of outbox rows for every matching active subscriber (insert-or-ignore)."""
    s = Subscriber.__table__.c
    affected = select(IncidentComponent.component_id).where(IncidentComponent.incident_id == incident_id)
    follows_affected = exists().where(and_(SubscriberComponent.subscriber_id == s.id,
                                           SubscriberComponent.component_id.in_(affected)))
    now = utcnow()
    chosen = (
        select(
            (literal(prefix) + cast(s.id, String)).label("dedupe_key"),
            s.kind.label("channel"),
            literal(event).label("kind"),
            literal("subscriber").label("audience"),
            func.coalesce(s.email, s.webhook_url).label("recipient"),
            s.id.label("subscriber_id"),
            literal(incident_id).label("incident_id"),
            literal(update_id).label("update_id"),
            literal({}, OutboxMessage.__table__.c.payload.type).label("payload"),
            literal("pending").label("status"),
            literal(0).label("attempts"),
            literal(now, OutboxMessage.__table__.c.next_attempt_at.type).label("next_attempt_at"),
            literal(now, OutboxMessage.__table__.c.created_at.type).label("created_at"),
        )
        .where(s.confirmed_at.is_not(None), s.unsubscribed_at.is_(None), s.quarantined_at.is_(None),
               or_(s.all_components == true(), follows_affected),
               # never NULL: keeps SQLite's parser from reading ON CONFLICT as part of the SELECT
               func.coalesce(s.email, s.webhook_url).is_not(None))
    )
    cols = ["dedupe_key", "channel", "kind", "audience", "recipient", "subscriber_id", "incident_id",
            "update_id", "payload", "status", "attempts", "next_attempt_at", "created_at"]
    stmt = insert_ignore(OutboxMessage.__table__).from_select(cols, chosen).on_conflict_do_nothing(index_elements=["dedupe_key"])
    # rowcount of an INSERT is only kept when asked for (SQLAlchemy reports -1 otherwise on psycopg).
    result = db.session.execute(stmt.execution_options(preserve_rowcount=True))
    return max(result.rowcount or 0, 0)


def enqueue_direct(dedupe_key: str, *, kind: str, recipient: str, subscriber_id: int | None = None,
                   channel: str = "email", audience: str = "subscriber", payload: dict | None = None) -> bool:
    """One outbox row (confirmation mail, manage link…), insert-or-ignore; in the caller's transaction."""
    now = utcnow()
    stmt = insert_ignore(OutboxMessage.__table__).values(dedupe_key=dedupe_key, channel=channel, kind=kind, audience=audience,
                            recipient=recipient, subscriber_id=subscriber_id, payload=payload or {},
                            status="pending", attempts=0, next_attempt_at=now, created_at=now)
    result = db.session.execute(stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
                                .execution_options(preserve_rowcount=True))
    return result.rowcount == 1


__all__ = ["EVENTS", "notify_event", "should_notify", "fan_out", "enqueue_direct"]
