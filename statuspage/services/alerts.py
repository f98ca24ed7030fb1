"""What happens when checks change a component's status: auto-incidents and on-call alerts.

Held while a check flaps, and suppressed for components inside an active maintenance window.
"""

from __future__ import annotations

import datetime as dt
import logging

from ..db import utcnow
from ..extensions import db
from ..models import Check, Component, OutboxMessage
from .site import get_page

log = logging.getLogger("statuspage.alerts")


def on_component_check_status(comp: Component, old: str, new: str, entries, now: dt.datetime, *,
                              notify: bool) -> None:
    """Called by the monitor inside its transaction when checks move a component's status."""
    if not notify or old == new:
        return
    from .maintenance import is_under_maintenance

    if is_under_maintenance(comp.id, now):
        log.info("component %s → %s during maintenance: no alert, no auto-incident", comp.slug, new)
        return
    failing = [(item, result) for item, result, transition in entries if transition.new_status != "up"]
    if new != "operational":
        claimed, result = (failing[0] if failing else (entries[0][0], entries[0][1]))
        check = db.session.get(Check, claimed.id, populate_existing=True)
        if comp.auto_incident != "off" and check is not None:
            from . import incidents

            incidents.open_auto_incident(comp, check, result.to_dict(), now,
                                         publish=comp.auto_incident == "publish")
        alert_on_call(comp, new, claimed.slug, result.to_dict(), now)
    else:
        if comp.auto_incident != "off":
            from . import incidents

            incidents.on_component_recovered(comp, now)
        alert_on_call(comp, new, None, None, now)


def alert_on_call(comp: Component, status: str, check_slug: str | None, result: dict | None,
                  now: dt.datetime) -> None:
    """Queue an email to the page's on-call address (through the outbox, like every message)."""
    page = get_page()
    if not page.on_call:
        return
    db.session.add(OutboxMessage(
        dedupe_key=f"oncall:{comp.id}:{status}:{int(now.timestamp() * 1000)}", channel="email",
        kind="oncall_alert", audience="oncall", recipient=page.on_call,
        payload={"component": comp.slug, "component_name": comp.name, "status": status, "check": check_slug,
                 "result": result, "at": now.isoformat()},
        next_attempt_at=utcnow()))


def render_oncall_alert(row: dict, ctx):
    """Outbox renderer for kind ``oncall_alert``: a plain, internal message (no list headers)."""
    from flask import current_app

    from ..mail.message import build_template
    from ..models.constants import STATUS_LABELS
    from .notification_content import mail_domain
    from .outbox import Prepared

    settings = current_app.extensions["statuspage.settings"]
    page = get_page()
    payload = row["payload"] or {}
    status = payload.get("status", "")
    label = {"monitoring_delayed": "monitoring data is delayed"}.get(status) or \
        STATUS_LABELS.get(status, status).lower()
    headline = f"{payload.get('component_name') or 'Monitoring'}: {label}"
    env = current_app.jinja_env
    context = {"headline": headline, "result": payload.get("result") or {}, "at": payload.get("at"),
               "check": payload.get("check"), "console_url": f"{ctx.base_url}/admin/"}
    template = build_template(
        sender=settings.mail_from, sender_name=f"{page.name} monitoring", subject=f"[{page.name}] {headline}",
        text=env.get_template("email/oncall_alert.txt").render(**context),
        html=env.get_template("email/oncall_alert.html").render(**context),
        message_id=f"<oncall-{row['id']}@{mail_domain()}>", list_unsubscribe_post=False)
    prepared = Prepared(id=row["id"], channel=row["channel"], recipient=row["recipient"], attempts=row["attempts"],
                        subscriber_id=None, action="send")
    try:
        prepared.message = template.personalise(to=row["recipient"])
    except ValueError as exc:
        prepared.action, prepared.reason = "fail", str(exc)
    prepared.message_id = template.message_id
    return prepared
