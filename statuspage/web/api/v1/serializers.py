"""The JSON shapes of /api/v1 (documented in openapi.py; change both together).

Webhook URLs are masked for every role below admin (``web/disclosure.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request

from ....models import (
    Check,
    Component,
    ComponentGroup,
    Incident,
    IncidentUpdate,
    OutboxMessage,
    Postmortem,
    Subscriber,
)
from ....services.incidents.lifecycle import KEY_TIMESTAMPS
from ....services.notifications.subscriptions import component_slugs
from ....services.page import get_page
from ...disclosure import shown_recipient, shown_target, shown_webhook_url


def iso(value: dt.datetime | None) -> str | None:
    """UTC, ISO 8601 with a Z."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def component_json(c: Component) -> dict[str, Any]:
    return {"id": c.slug, "name": c.name, "description": c.description, "status": c.status,
            "status_source": c.status_source, "group_id": c.group.slug if c.group else None,
            "position": c.position, "public": c.public, "showcase": c.showcase,
            "only_show_if_degraded": c.only_show_if_degraded, "automation": c.auto_incident,
            "created_at": iso(c.created_at), "updated_at": iso(c.updated_at)}


def group_json(grp: ComponentGroup) -> dict[str, Any]:
    return {"id": grp.slug, "name": grp.name, "description": grp.description, "position": grp.position,
            "components": [c.slug for c in grp.components if c.archived_at is None]}


def check_json(c: Check) -> dict[str, Any]:
    last = c.last_result if isinstance(c.last_result, dict) else None
    return {"id": c.slug, "component_id": c.component.slug, "kind": c.kind, "target": shown_target(c.target),
            "state": c.status, "flapping": bool(c.flapping), "interval_seconds": c.interval_seconds,
            "silenced_until": iso(c.silenced_until), "last_run_at": iso(c.last_run_at), "last_result": last,
            "quorum": c.quorum if c.locations else None, "status_reason": c.status_reason,
            "monitoring_delayed": bool(c.monitoring_delayed), "partial_failures": list(c.partial_failures or [])}


def check_location_json(s: Any) -> dict[str, Any]:
    """One location's view of a check (``location_report.CheckLocationSummary``)."""
    return {"location": s.location, "status": s.status, "since": iso(s.since), "fresh": s.fresh,
            "last_run_at": iso(s.last_run_at), "latency_p50_ms": s.p50_ms, "latency_p95_ms": s.p95_ms,
            "outcome": s.outcome, "message": s.message, "conditions": s.conditions}


def update_json(u: IncidentUpdate) -> dict[str, Any]:
    return {"id": u.public_id, "status": u.status, "body": u.body, "internal": u.internal,
            "deliver_notifications": u.notify, "created_at": iso(u.created_at), "display_at": iso(u.display_at),
            "author": u.author_label,
            "affected_components": [{"code": ch.component.slug, "name": ch.component.name,
                                     "old_status": ch.old_status, "new_status": ch.new_status}
                                    for ch in u.component_changes]}


def incident_json(i: Incident) -> dict[str, Any]:
    """An incident or a maintenance window (which adds its schedule)."""
    base = (get_page().url or request.host_url).rstrip("/")
    out = {"id": i.public_id, "name": i.name, "status": i.status, "impact": i.effective_impact,
           "impact_override": i.impact_override, "source": i.source, "draft": i.published_at is None,
           "cause_category": i.cause_category, "shortlink": f"{base}/incidents/{i.public_id}",
           "created_at": iso(i.created_at), "updated_at": iso(i.updated_at), "published_at": iso(i.published_at),
           "postmortem_published_at": iso(i.postmortem.published_at) if i.postmortem else None,
           "components": [{"id": ic.component.slug, "name": ic.component.name, "status": ic.status}
                          for ic in i.components],
           "incident_updates": [update_json(u) for u in sorted(i.updates, key=lambda u: u.created_at,
                                                                reverse=True)]}
    for key in KEY_TIMESTAMPS:
        out[key] = iso(getattr(i, key))
    if i.kind == "maintenance":
        out.update({"scheduled_for": iso(i.scheduled_for), "scheduled_until": iso(i.scheduled_until),
                    "auto_transition": i.auto_transition, "reminder_minutes": i.reminder_minutes})
    return out


def postmortem_json(pm: Postmortem) -> dict[str, Any]:
    return {"incident_id": pm.incident.public_id, "cause_category": pm.cause_category,
            "published_at": iso(pm.published_at), "updated_at": iso(pm.updated_at),
            "sections": [{"key": s["key"], "title": s["title"], "body": s.get("body", ""),
                          "public": bool(s.get("public"))} for s in pm.sections or []],
            "action_items": [action_item_json(a) for a in pm.action_items]}


def action_item_json(a: Any) -> dict[str, Any]:
    return {"id": a.id, "title": a.title, "owner": a.owner, "due_date": a.due_date.isoformat() if a.due_date else None,
            "status": a.status, "link": a.link}


def subscriber_json(sub: Subscriber) -> dict[str, Any]:
    return {
        "id": sub.id, "kind": sub.kind, "email": sub.email, "url": shown_webhook_url(sub.webhook_url),
        "format": sub.webhook_format if sub.kind == "webhook" else None,
        "state": sub.state, "components": component_slugs(sub) or "all",
        "created_at": iso(sub.created_at), "confirmed_at": iso(sub.confirmed_at),
        "unsubscribed_at": iso(sub.unsubscribed_at), "quarantined_at": iso(sub.quarantined_at),
        "failure_count": sub.failure_count, "last_error": sub.last_error,
    }


def outbox_json(row: OutboxMessage) -> dict[str, Any]:
    return {
        "id": row.id, "status": row.status, "channel": row.channel, "kind": row.kind, "audience": row.audience,
        "recipient": shown_recipient(row.channel, row.recipient), "subscriber_id": row.subscriber_id, "incident_id": row.incident_id,
        "update_id": row.update_id, "attempts": row.attempts, "next_attempt_at": iso(row.next_attempt_at),
        "last_error": row.last_error, "claimed_by": row.claimed_by, "claimed_until": iso(row.claimed_until),
        "message_id": row.message_id, "created_at": iso(row.created_at), "sent_at": iso(row.sent_at),
        "dedupe_key": row.dedupe_key,
    }
