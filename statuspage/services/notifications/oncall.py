"""Mail to the page's on-call address: written to the outbox like every message, rendered at delivery.

Alerts join the caller's transaction (the checks engine's, or the self-check job's) and are
insert-or-ignore on their dedupe key, so a job that runs twice alerts once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app

from ...db import insert_ignore, utcnow
from ...extensions import db
from ...mail.message import MessageTemplate, build_template
from ...models import Component, OutboxMessage
from ...models.constants import STATUS_LABELS
from ...templating import local_time
from ..page import get_page
from .content import mail_domain


def enqueue_oncall_alert(dedupe_key: str, payload: dict[str, Any]) -> bool:
    """One ``oncall_alert`` outbox row to the page's on-call address; False when there is none (or the
    key exists). In the caller's transaction."""
    page = get_page()
    if not page.on_call:
        return False
    queued_at = utcnow()  # due at once, whatever instant the caller reasons about
    result = db.session.execute(
        insert_ignore(OutboxMessage.__table__).values(
            dedupe_key=dedupe_key, channel="email", kind="oncall_alert", audience="oncall",
            recipient=page.on_call, payload=payload, status="pending", attempts=0,
            next_attempt_at=queued_at, created_at=queued_at).on_conflict_do_nothing(index_elements=["dedupe_key"])
        .execution_options(preserve_rowcount=True))
    return result.rowcount == 1


def alert_on_call(comp: Component, status: str, check_slug: str | None, result: dict | None,
                  now: dt.datetime) -> None:
    """Tell on-call that checks moved ``comp`` to ``status`` (with the check's resolved result)."""
    enqueue_oncall_alert(
        f"oncall:{comp.id}:{status}:{int(now.timestamp() * 1000)}",
        {"component": comp.slug, "component_name": comp.name, "status": status, "check": check_slug,
         "result": result, "at": now.isoformat()})


def render_oncall_alert(row: dict[str, Any], base_url: str) -> MessageTemplate:
    """The message of an ``oncall_alert`` row: plain and internal (no list headers)."""
    settings = current_app.extensions["statuspage.settings"]
    page = get_page()
    payload = row["payload"] or {}
    status = payload.get("status", "")
    label = {"monitoring_delayed": "monitoring data is delayed", "location_stale": "stopped reporting",
             "location_back": "reporting again"}.get(status) or \
        STATUS_LABELS.get(status, status).lower()
    headline = f"{payload.get('component_name') or 'Monitoring'}: {label}"
    env = current_app.jinja_env
    # The payload keeps UTC ISO (a machine reads it); the on-call engineer reads the page's zone.
    context = {"headline": headline, "result": payload.get("result") or {}, "at": local_time(payload.get("at"), page.tz),
               "check": payload.get("check"), "console_url": f"{base_url}/admin/"}
    return build_template(
        sender=settings.mail_from, sender_name=f"{page.name} monitoring", subject=f"[{page.name}] {headline}",
        text=env.get_template("email/oncall_alert.txt").render(**context),
        html=env.get_template("email/oncall_alert.html").render(**context),
        message_id=f"<oncall-{row['id']}@{mail_domain()}>", list_unsubscribe_post=False)
