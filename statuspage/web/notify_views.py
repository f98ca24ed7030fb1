"""Shared serialisation of subscribers and outbox rows for the console and /api/v1."""

from __future__ import annotations

from ..models import OutboxMessage, Subscriber
from ..services.notifications.subscriptions import component_slugs


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def subscriber_json(sub: Subscriber) -> dict:
    return {
        "id": sub.id, "kind": sub.kind, "email": sub.email, "url": sub.webhook_url,
        "format": sub.webhook_format if sub.kind == "webhook" else None,
        "state": sub.state, "components": component_slugs(sub) or "all",
        "created_at": _iso(sub.created_at), "confirmed_at": _iso(sub.confirmed_at),
        "unsubscribed_at": _iso(sub.unsubscribed_at), "quarantined_at": _iso(sub.quarantined_at),
        "failure_count": sub.failure_count, "last_error": sub.last_error,
    }


def outbox_json(row: OutboxMessage) -> dict:
    return {
        "id": row.id, "status": row.status, "channel": row.channel, "kind": row.kind, "audience": row.audience,
        "recipient": row.recipient, "subscriber_id": row.subscriber_id, "incident_id": row.incident_id,
        "update_id": row.update_id, "attempts": row.attempts, "next_attempt_at": _iso(row.next_attempt_at),
        "last_error": row.last_error, "claimed_by": row.claimed_by, "claimed_until": _iso(row.claimed_until),
        "message_id": row.message_id, "created_at": _iso(row.created_at), "sent_at": _iso(row.sent_at),
        "dedupe_key": row.dedupe_key,
    }
