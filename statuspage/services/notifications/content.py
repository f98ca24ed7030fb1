"""What a notification says: one email template and one webhook body per (event, incident, update).

Rendered once at delivery time and reused for every recipient of that notification; only the address
and the personal links differ (see statuspage/mail/message.py).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ...mail.message import (
    PH_EMAIL,
    PH_MANAGE,
    PH_UNSUBSCRIBE,
    MessageTemplate,
    build_template,
    clean_header_text,
)
from ...models import Component, Incident, IncidentComponent, IncidentUpdate, Page
from ...models.constants import worst_status
from ...templating import local_time
from ..page import get_page, public_base_url

HEADLINES = {
    "incident_created": "New incident",
    "incident_updated": "Incident update",
    "incident_resolved": "Resolved",
    "postmortem_published": "Postmortem published",
    "maintenance_scheduled": "Scheduled maintenance",
    "maintenance_reminder": "Maintenance starts soon",
    "maintenance_started": "Maintenance in progress",
    "maintenance_completed": "Maintenance completed",
    "maintenance_cancelled": "Maintenance cancelled",
}
# The first message of a thread: it carries the root Message-ID itself.
ROOT_EVENTS = ("incident_created", "maintenance_scheduled")
PAGE_INDICATOR = {
    "operational": ("none", "All Systems Operational"),
    "degraded_performance": ("minor", "Minor Service Outage"),
    "partial_outage": ("major", "Partial System Outage"),
    "major_outage": ("critical", "Major System Outage"),
    "under_maintenance": ("maintenance", "Service Under Maintenance"),
}
DOCS_URL = "https://github.com/statuspage/statuspage/blob/main/docs/webhooks.md"


MAINTENANCE_SUBJECTS = {
    "maintenance_scheduled": "Scheduled maintenance",
    "maintenance_reminder": "Maintenance starts soon",
    "maintenance_started": "Maintenance in progress",
    "maintenance_completed": "Maintenance completed",
    "maintenance_cancelled": "Maintenance cancelled",
    "incident_updated": "Maintenance update",
}


def subject_status(event: str, kind: str, status: str) -> str:
    """What a notification's subject says before the incident's name: its state at this event.

    ``Investigating``, ``Identified``, ``Resolved``, ``Postmortem``, ``Scheduled maintenance``… — so an
    inbox shows at a glance where an incident stands; the thread itself is kept by In-Reply-To,
    References and Thread-Topic.
    """
    if event == "postmortem_published":
        return "Postmortem"
    if kind == "maintenance":
        return MAINTENANCE_SUBJECTS.get(event, "Maintenance update")
    if event == "incident_resolved":
        return "Resolved"
    return status.replace("_", " ").capitalize()


def notification_subject(page_name: str, event: str, kind: str, status: str, name: str) -> str:
    """``[Acme Cloud] Identified: Elevated API errors``."""
    return f"[{page_name}] {subject_status(event, kind, status)}: {name}"


class ContentGone(LookupError):
    """The incident or update a row refers to no longer exists."""


def mail_domain() -> str:
    settings = current_app.extensions["statuspage.settings"]
    host = urlsplit(public_base_url()).hostname
    if host and host not in ("localhost",) and "." in host:
        return host
    return settings.mail_from.rsplit("@", 1)[1]


def root_message_id(incident: Incident | str, domain: str | None = None) -> str:
    """The thread root of an incident's mail: ``<incident-{public_id}@{domain}>`` — subscriber, contact
    and account-team mail all thread under it. ``incident`` is the model or its public id."""
    public_id = incident if isinstance(incident, str) else incident.public_id
    return f"<incident-{public_id}@{domain or mail_domain()}>"


def message_id_for(event: str, incident: Incident, update: IncidentUpdate | None, domain: str) -> str:
    """Stable per notification: a re-send after a crash carries the same id (mailboxes dedupe it)."""
    if event in ROOT_EVENTS:
        return root_message_id(incident, domain)
    part = update.public_id if update is not None else "-"
    return f"<incident-{incident.public_id}.{event.replace('_', '-')}.{part}@{domain}>"


def list_id(page: Page, domain: str) -> str:
    name = clean_header_text(page.name, 80).replace('"', "'")
    return f'"{name} status" <subscribers.{domain}>'


_URL_SAFE_TOKEN = re.compile(r"[A-Za-z0-9_.-]+")


def unsubscribe_mailto(settings, token: str) -> str:
    # Tokens are URL-safe already (base64url and dots); quoting them is needed only if that changes.
    subject = "unsubscribe%20" + (token if _URL_SAFE_TOKEN.fullmatch(token) else quote(token))
    return f"mailto:{settings.mail_from}?subject={subject}"


@dataclass
class Notification:
    """Everything shared by the recipients of one (event, incident, update)."""

    event: str
    incident: Incident
    update: IncidentUpdate | None
    page: Page
    base_url: str
    components: list[Component]
    _email: MessageTemplate | None = None
    _webhook: dict | None = None
    _slack: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def incident_url(self) -> str:
        return f"{self.base_url}/incidents/{self.incident.public_id}"

    @property
    def subject(self) -> str:
        status = self.update.status if self.update is not None else self.incident.status
        return notification_subject(self.page.name, self.event, self.incident.kind, status, self.incident.name)

    def email(self) -> MessageTemplate:
        if self._email is None:
            self._email = _render_incident_email(self)
        return self._email

    def webhook(self, fmt: str, unsubscribe_url: str) -> bytes:
        """The JSON body for one webhook subscriber (only the unsubscribe link is personal)."""
        if fmt == "slack":
            if self._slack is None:
                self._slack = _slack_payload(self)
            return json.dumps(self._slack).encode()
        if self._webhook is None:
            self._webhook = _statuspage_payload(self)
        body = dict(self._webhook)
        body["meta"] = {"unsubscribe": unsubscribe_url, "documentation": DOCS_URL}
        return json.dumps(body).encode()


def load_notification(event: str, incident_id: int | None, update_id: int | None, base_url: str) -> Notification:
    """Read the incident, update, page and affected components once for a notification."""
    incident = db.session.get(Incident, incident_id) if incident_id is not None else None
    if incident is None:
        raise ContentGone("the incident no longer exists")
    update = None
    if update_id is not None:
        update = db.session.get(IncidentUpdate, update_id)
        if update is None:
            raise ContentGone("the incident update no longer exists")
    components = list(db.session.scalars(
        select(Component).join(IncidentComponent, IncidentComponent.component_id == Component.id)
        .where(IncidentComponent.incident_id == incident.id).order_by(Component.position)))
    return Notification(event=event, incident=incident, update=update, page=get_page(), base_url=base_url,
                        components=[c for c in components if c.public])


def _sender(settings, page: Page) -> tuple[str, str]:
    return settings.mail_from, page.name


def _render_incident_email(n: Notification) -> MessageTemplate:
    settings = current_app.extensions["statuspage.settings"]
    env = current_app.jinja_env
    domain = mail_domain()
    ctx = _context(n)
    text = env.get_template("email/incident.txt").render(**ctx)
    html = env.get_template("email/incident.html").render(**ctx)
    root = root_message_id(n.incident, domain)
    message_id = message_id_for(n.event, n.incident, n.update, domain)
    sender, name = _sender(settings, n.page)
    return build_template(sender=sender, sender_name=name, subject=n.subject, text=text, html=html,
                          message_id=message_id, in_reply_to=None if message_id == root else root,
                          list_id=list_id(n.page, domain), thread_topic=n.incident.name)


def _context(n: Notification) -> dict[str, Any]:
    inc = n.incident
    upd = n.update
    status = upd.status if upd is not None else inc.status
    return {
        "page": n.page, "incident": inc, "update": upd, "event": n.event, "headline": HEADLINES[n.event],
        "status_label": status.replace("_", " ").capitalize(), "is_maintenance": inc.kind == "maintenance",
        "components": n.components, "incident_url": n.incident_url, "tz": n.page.time_zone,
        "when": local_time(upd.display_at if upd is not None else (inc.updated_at or inc.created_at),
                           n.page.time_zone),
        "window_start": local_time(inc.scheduled_for, n.page.time_zone),
        "window_end": local_time(inc.scheduled_until, n.page.time_zone),
        "email": PH_EMAIL, "manage_url": PH_MANAGE, "unsubscribe_url": PH_UNSUBSCRIBE,
        "base_url": n.base_url,
    }


def render_subscription_email(kind: str, email_addr: str, *, confirm_url: str = "", manage_url: str,
                              unsubscribe_url: str, base_url: str) -> bytes:
    """Confirmation or "manage your subscription" mail for one address (rare: rendered per message)."""
    settings = current_app.extensions["statuspage.settings"]
    env = current_app.jinja_env
    page = get_page()
    domain = mail_domain()
    ctx = {"page": page, "confirm_url": confirm_url, "manage_url": manage_url, "email": email_addr,
           "unsubscribe_url": unsubscribe_url, "base_url": base_url}
    name = "subscribe_confirm" if kind == "subscribe_confirm" else "subscribe_manage"
    subject = (f"[{page.name}] Confirm your subscription" if kind == "subscribe_confirm"
               else f"[{page.name}] Your subscription")
    template = build_template(
        sender=settings.mail_from, sender_name=page.name, subject=subject,
        text=env.get_template(f"email/{name}.txt").render(**ctx),
        html=env.get_template(f"email/{name}.html").render(**ctx),
        message_id=f"<{name.replace('_', '-')}.{secrets.token_hex(8)}@{domain}>",
        # A confirmation is not list mail: no one-click unsubscribe of something not yet started.
        list_unsubscribe_post=kind != "subscribe_confirm")
    return template.personalise(to=email_addr, unsubscribe_url=unsubscribe_url if kind != "subscribe_confirm"
                                else "", manage_url=manage_url)


# --- webhook bodies --------------------------------------------------------------------------------


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _page_status() -> tuple[str, str]:
    statuses = db.session.scalars(select(Component.status).where(Component.public.is_(True),
                                                                 Component.archived_at.is_(None)))
    return PAGE_INDICATOR[worst_status(statuses)]


def _statuspage_payload(n: Notification) -> dict:
    inc = n.incident
    indicator, description = _page_status()
    updates = sorted((u for u in inc.updates if not u.internal), key=lambda u: u.display_at, reverse=True)
    statuses = {ic.component_id: ic.status for ic in inc.components}
    return {
        "page": {"id": n.page.public_id, "status_indicator": indicator, "status_description": description},
        "incident": {
            "id": inc.public_id, "name": inc.name, "status": inc.status, "impact": inc.effective_impact,
            "kind": inc.kind, "created_at": _iso(inc.created_at), "updated_at": _iso(inc.updated_at),
            "started_at": _iso(inc.started_at), "resolved_at": _iso(inc.resolved_at),
            "scheduled_for": _iso(inc.scheduled_for), "scheduled_until": _iso(inc.scheduled_until),
            "shortlink": n.incident_url, "page_id": n.page.public_id, "event": n.event,
            "components": [{"id": c.slug, "name": c.name, "status": statuses.get(c.id, c.status)}
                           for c in n.components],
            "incident_updates": [{
                "id": u.public_id, "incident_id": inc.public_id, "status": u.status, "body": u.body,
                "created_at": _iso(u.created_at), "display_at": _iso(u.display_at),
                "updated_at": _iso(u.created_at),
                "affected_components": [{"code": ch.component.slug, "name": ch.component.name,
                                         "old_status": ch.old_status, "new_status": ch.new_status}
                                        for ch in u.component_changes if ch.component.public],
            } for u in updates],
        },
    }


def _slack_payload(n: Notification) -> dict:
    inc = n.incident
    body = n.update.body if n.update is not None else ""
    status = (n.update.status if n.update is not None else inc.status).replace("_", " ")
    title = f"{HEADLINES[n.event]}: {inc.name}"
    affected = ", ".join(c.name for c in n.components) or "—"
    text = f"[{n.page.name}] {title} ({status})"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": f"*{status.capitalize()}* — <{n.incident_url}|View on {n.page.name}>"}},
    ]
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Affected: {affected}"}]})
    return {"text": text, "blocks": blocks}
