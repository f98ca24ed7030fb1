"""Telling the right people about an incident: account contacts and account teams, through the outbox.

``enqueue_account_notifications(event, incident, update)`` is called by ``services.notify.notify_event``
in the transaction that records the event. It writes ``OutboxMessage`` rows (channel ``email``) with
insert-or-ignore on ``dedupe_key``, so calling it twice for the same update writes nothing new:

* ``account_contact`` (audience ``contact``): the customer email to each contact of an affected account,
  one per recipient per update, honouring the contact's ``notify``: ``all``; ``major`` — only when
  :func:`is_major` (incident impact major or critical, or any affected component in major outage; never
  for maintenance); ``none`` — never. Maintenance notices go to the contacts of the accounts whose
  components are in the window. Threaded like subscriber mail: the first message of an incident
  (``incident_created`` / ``maintenance_scheduled``) carries the incident's root Message-ID
  ``<incident-{public_id}@{domain}>``, later ones reply to it (In-Reply-To/References), same subject.
* ``account_team_digest`` (audience ``team``): ONE internal email per recipient per incident update,
  listing only that person's affected accounts (as owner, team member, or account manager watching
  them) with ARR, renewal date, outage minutes and a suggested message. Not for maintenance.
  It also lists the regional problems (``accounts.regional``: failures seen from an account's own
  locations, even below the quorum) of the accounts the recipient owns.
* ``account_regional_digest`` (audience ``team``): to an account's OWNER when a failure first shows from
  one of the account's locations below the quorum (no incident, nothing public): the owner's regional
  problems, each account once (:func:`enqueue_regional_digest`, from ``monitoring.locations``).
* ``account_postmortem`` (audience ``contact``): the public postmortem sections, sent on request from
  the console (:func:`send_postmortem_to_accounts`).

Each row's ``payload`` holds everything needed to render it; :func:`render_account_message` turns a
row into (subject, text, html, headers) for the outbox delivery.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select

from ...db import insert_ignore, utcnow
from ...extensions import db
from ...mail.message import MessageTemplate, build_template
from ...models import Account, Incident, IncidentUpdate, OutboxMessage, Page, Postmortem
from ..accounts.impact import AffectedAccount, Impact, incident_impact
from ..accounts.outreach import outreach_row
from ..accounts.records import AccountError, contacts_of
from ..accounts.regional import accounts_served_from, regional_failures
from ..accounts.watches import watcher_emails
from ..audit import Actor, record
from ..page import get_page
from .content import mail_domain, notification_subject, root_message_id, subject_status

INCIDENT_EVENTS = ("incident_created", "incident_updated", "incident_resolved")
MAINTENANCE_EVENTS = ("maintenance_scheduled", "maintenance_reminder", "maintenance_started",
                      "maintenance_completed", "maintenance_cancelled")
ROOT_EVENTS = ("incident_created", "maintenance_scheduled")
KINDS = ("account_contact", "account_team_digest", "account_regional_digest", "account_postmortem")
EVENT_TITLES = {
    "incident_created": "New incident",
    "incident_updated": "Incident update",
    "incident_resolved": "Resolved",
    "postmortem_published": "Postmortem published",
    "maintenance_scheduled": "Maintenance scheduled",
    "maintenance_reminder": "Maintenance reminder",
    "maintenance_started": "Maintenance in progress",
    "maintenance_completed": "Maintenance completed",
    "maintenance_cancelled": "Maintenance cancelled",
}


def is_major(incident: Incident) -> bool:
    """Whether contacts who asked for major incidents only hear about this one."""
    if incident.kind != "incident":
        return False
    if incident.effective_impact in ("major", "critical"):
        return True
    return any(ic.status == "major_outage" for ic in incident.components)


def _recipient_key(email: str) -> str:
    email = email.strip().lower()
    return email if len(email) <= 120 else hashlib.sha256(email.encode()).hexdigest()[:32]


def insert_outbox_rows(rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows, ignoring those whose dedupe_key exists; returns how many were new."""
    if not rows:
        return 0
    keys = [r["dedupe_key"] for r in rows]
    existing = set()
    for i in range(0, len(keys), 500):
        existing.update(db.session.scalars(select(OutboxMessage.dedupe_key)
                                           .where(OutboxMessage.dedupe_key.in_(keys[i:i + 500]))))
    now = utcnow()
    fresh = [{"channel": "email", "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
              **r} for r in rows if r["dedupe_key"] not in existing]
    if not fresh:
        return 0
    table = OutboxMessage.__table__
    for i in range(0, len(fresh), 1000):
        db.session.execute(insert_ignore(table).on_conflict_do_nothing(index_elements=["dedupe_key"]),
                           fresh[i:i + 1000])
    return len(fresh)


def _incident_payload(incident: Incident) -> dict[str, Any]:
    return {
        "public_id": incident.public_id, "name": incident.name, "kind": incident.kind, "status": incident.status,
        "impact": incident.effective_impact,
        "started_at": incident.started_at.isoformat() if incident.started_at else None,
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "scheduled_for": incident.scheduled_for.isoformat() if incident.scheduled_for else None,
        "scheduled_until": incident.scheduled_until.isoformat() if incident.scheduled_until else None,
    }


def _update_payload(update: IncidentUpdate | None) -> dict[str, Any] | None:
    if update is None:
        return None
    return {"public_id": update.public_id, "status": update.status, "body": update.body or "",
            "display_at": (update.display_at or update.created_at).isoformat()}


def suggested_message(account: AffectedAccount, incident: Incident, update: IncidentUpdate | None,
                      event: str | None = None) -> str:
    """A short message an account team can send (or adapt) to the customer about this incident.

    Its wording follows the incident's state: an open incident is "affecting" and promises updates; a
    resolved one "affected" and promises the root-cause analysis; once the postmortem is published it
    points to it instead of promising anything.
    """
    comps = ", ".join(account.components)
    status = update.status if update is not None else incident.status
    if event == "postmortem_published" or status == "postmortem":
        return (f"Hi {account.name} team — following up on {incident.name}, which affected {comps}: our "
                f"root-cause analysis is now published on our status page. It explains what happened and "
                f"what we are changing so it does not happen again; I am happy to walk you through it.")
    minutes = int(round(account.outage_minutes))
    if status == "resolved":
        so_far = f" In all it meant about {minutes} minutes of disruption for you." if minutes else ""
        return (f"Hi {account.name} team — I wanted you to hear it from us: {incident.name} affected {comps}, "
                f"which you use. This has been resolved.{so_far} We will share the root-cause analysis with "
                f"you as soon as it is ready.")
    state = {"investigating": "Our engineers are investigating",
             "identified": "We have identified the cause and are working on a fix",
             "monitoring": "A fix is in place and we are monitoring it"}.get(status, "We are working on it")
    so_far = f" So far this has meant about {minutes} minutes of disruption for you." if minutes else ""
    return (f"Hi {account.name} team — I wanted you to hear it from us first: {incident.name} is affecting "
            f"{comps}, which you use. {state}.{so_far} I will keep you posted until it is fully resolved.")


def enqueue_account_notifications(event: str, incident: Incident, update: IncidentUpdate | None = None, *,
                                  now: dt.datetime | None = None) -> int:
    """Write the contact emails and the team digests for one event; returns the number of new rows.

    Nothing for drafts, incidents with notifications off, internal updates or updates marked
    not to notify. Call inside the caller's transaction (ids must be flushed); the caller commits.
    """
    if incident.published_at is None or incident.notify is False:
        return 0
    if update is not None and (update.internal or update.notify is False):
        return 0
    if event not in INCIDENT_EVENTS + MAINTENANCE_EVENTS + ("postmortem_published",):
        return 0
    now = now or utcnow()
    impact = incident_impact(incident, now)
    if not impact.accounts:
        return 0
    rows: list[dict[str, Any]] = []
    if event in INCIDENT_EVENTS + MAINTENANCE_EVENTS:
        rows += _contact_rows(event, incident, update, impact)
    if event in INCIDENT_EVENTS + ("postmortem_published",):
        rows += _team_rows(event, incident, update, impact)
    return insert_outbox_rows(rows)


def _update_part(update: IncidentUpdate | None) -> str:
    return update.public_id if update is not None else "-"


def _contact_rows(event: str, incident: Incident, update: IncidentUpdate | None, impact: Impact
                  ) -> list[dict[str, Any]]:
    major = is_major(incident)
    by_id = {a.id: a for a in impact.accounts}
    recipients: dict[str, dict[str, Any]] = {}
    for account_id, contacts in contacts_of([a.id for a in impact.accounts]).items():
        acc = by_id[account_id]
        for c in contacts:
            if c.notify == "none" or (c.notify == "major" and not major):
                continue
            entry = recipients.setdefault(c.email.lower(), {"name": c.name, "accounts": [], "components": set(),
                                                            "owners": set()})
            entry["accounts"].append(acc.name)
            entry["components"].update(acc.components)
            if acc.owner:
                entry["owners"].add(acc.owner.lower())
    base = _incident_payload(incident)
    upd = _update_payload(update)
    out = []
    for email, entry in recipients.items():
        out.append({
            "dedupe_key": f"account:{incident.id}:{event}:{_update_part(update)}:contact:{_recipient_key(email)}",
            "kind": "account_contact", "audience": "contact", "recipient": email, "incident_id": incident.id,
            "update_id": update.id if update is not None else None,
            "payload": {"event": event, "incident": base, "update": upd, "contact_name": entry["name"],
                        "accounts": sorted(entry["accounts"]), "components": sorted(entry["components"]),
                        "owners": sorted(entry["owners"])},
        })
    return out


def _team_rows(event: str, incident: Incident, update: IncidentUpdate | None, impact: Impact
               ) -> list[dict[str, Any]]:
    by_email: dict[str, list[AffectedAccount]] = defaultdict(list)
    watchers = watcher_emails([a.id for a in impact.accounts])
    for acc in impact.accounts:
        people = {e.lower() for e in ([acc.owner] if acc.owner else []) + acc.team} | watchers.get(acc.id, set())
        for email in people:
            by_email[email].append(acc)
    base = _incident_payload(incident)
    upd = _update_payload(update)
    regional = owners_regional(set(by_email))
    out = []
    for email, accounts in by_email.items():
        total = sum((a.arr for a in accounts), Decimal(0))
        out.append({
            "dedupe_key": f"account:{incident.id}:{event}:{_update_part(update)}:team:{_recipient_key(email)}",
            "kind": "account_team_digest", "audience": "team", "recipient": email, "incident_id": incident.id,
            "update_id": update.id if update is not None else None,
            "payload": {"event": event, "incident": base, "update": upd, "total_arr": float(total),
                        "accounts": [{**a.to_dict(), "suggested_message": suggested_message(a, incident, update, event)}
                                     for a in accounts],
                        "regional": regional.get(email, [])},
        })
    return out


def owners_regional(emails: set[str], now: dt.datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per owner's address (lower case): the regional problems of the active accounts they own, as
    payload entries (account, external id, each failure with its sentence in the page's zone)."""
    if not emails:
        return {}
    now = now or utcnow()
    tz = get_page().tz
    out: dict[str, list[dict[str, Any]]] = {}
    owned = db.session.scalars(select(Account).where(Account.archived_at.is_(None), Account.owner_email.is_not(None))
                               .order_by(Account.name, Account.id))
    for acc in owned:
        email = acc.owner_email.strip().lower()
        if email not in emails or not acc.locations:
            continue
        failures = regional_failures(acc, now)
        if failures:
            out.setdefault(email, []).append({
                "account": acc.name, "id": acc.external_id,
                "failures": [{**f.to_dict(), "text": f.sentence(tz, now)} for f in failures]})
    return out


def enqueue_regional_digest(component_id: int, location: str, since: dt.datetime | None, *, check_id: int,
                            now: dt.datetime | None = None) -> int:
    """A failure began from ``location`` on a component, below the quorum: tell the owners of the
    accounts served from there (once per check, location and start of the failure). In the caller's
    transaction; returns the number of new rows."""
    owners = {a.owner_email.strip().lower() for a in accounts_served_from(component_id, location) if a.owner_email}
    if not owners:
        return 0
    stamp = since.strftime("%Y%m%dT%H%M%S") if since else "-"
    rows = []
    for email, accounts in owners_regional(owners, now).items():
        rows.append({
            "dedupe_key": f"regional:{check_id}:{location}:{stamp}:{_recipient_key(email)}",
            "kind": "account_regional_digest", "audience": "team", "recipient": email,
            "payload": {"event": "regional_problem", "location": location, "regional": accounts},
        })
    return insert_outbox_rows(rows)


def enqueue_postmortem(incident: Incident, postmortem: Postmortem, sections: list[dict], impact: Impact
                       ) -> tuple[int, set[int]]:
    """Rows of ``account_postmortem`` for the contacts (notify all or major) of the affected accounts.

    Returns (new rows, ids of the accounts that have at least one recipient).
    """
    by_id = {a.id: a for a in impact.accounts}
    recipients: dict[str, dict[str, Any]] = {}
    reached: set[int] = set()
    for account_id, contacts in contacts_of(list(by_id)).items():
        for c in contacts:
            if c.notify == "none":
                continue
            reached.add(account_id)
            entry = recipients.setdefault(c.email.lower(), {"name": c.name, "accounts": [], "owners": set()})
            entry["accounts"].append(by_id[account_id].name)
            if by_id[account_id].owner:
                entry["owners"].add(by_id[account_id].owner.lower())
    stamp = postmortem.published_at.strftime("%Y%m%dT%H%M%S") if postmortem.published_at else "-"
    public_sections = [{"title": s.get("title") or "", "body": s.get("body") or ""} for s in sections]
    rows = [{
        "dedupe_key": f"account:{incident.id}:postmortem:{stamp}:contact:{_recipient_key(email)}",
        "kind": "account_postmortem", "audience": "contact", "recipient": email, "incident_id": incident.id,
        "payload": {"event": "postmortem_sent", "incident": _incident_payload(incident),
                    "contact_name": entry["name"], "accounts": sorted(entry["accounts"]),
                    "owners": sorted(entry["owners"]), "sections": public_sections},
    } for email, entry in recipients.items()]
    return insert_outbox_rows(rows), reached


# --- rendering ------------------------------------------------------------------------------------------


def send_postmortem_to_accounts(incident: Incident, *, actor: Actor, now: dt.datetime | None = None) -> int:
    """Email the public sections of the published postmortem to the contacts of the affected accounts.

    Contacts with notify ``none`` are skipped. Records ``rca_sent_at`` for every affected account that
    has at least one recipient; idempotent (a second call enqueues nothing new). Returns the number of
    outbox rows written. AccountError when there is no published postmortem with public sections.
    """
    now = now or utcnow()
    pm = incident.postmortem
    if pm is None or pm.published_at is None:
        raise AccountError("the postmortem is not published yet", {"postmortem": "not published"},
                           code="conflict")
    sections = [s for s in (pm.sections or []) if s.get("public")]
    if not sections:
        raise AccountError("the postmortem has no public sections", {"postmortem": "no public sections"},
                           code="conflict")
    impact = incident_impact(incident, now)
    written, reached = enqueue_postmortem(incident, pm, sections, impact)
    for acc in db.session.scalars(select(Account).where(Account.id.in_(reached))) if reached else []:
        row = outreach_row(incident, acc)
        if row.rca_sent_at is None:
            row.rca_sent_at = now
            row.updated_by = actor.label
            row.updated_at = now
    record(actor, "account.postmortem.send", "incident", incident.public_id,
           after={"accounts": len(reached), "messages": written})
    db.session.commit()
    return written


def _parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def render_account_message(row: OutboxMessage, page: Page, public_url: str | None
                           ) -> tuple[str, str, str, dict[str, str]]:
    """(subject, text, html, headers) of an account outbox row, from its payload alone.

    Needs an application context (Jinja templates under templates/email/). Headers: Message-ID and,
    except for the first message of an incident, In-Reply-To and References to the incident's root.
    """
    if row.kind not in KINDS:
        raise ValueError(f"not an account message kind: {row.kind!r}")
    payload = row.payload or {}
    inc = payload.get("incident") or {}
    base = (public_url or page.url or "").rstrip("/")
    domain = mail_domain()
    public_id = inc.get("public_id", "unknown")
    event = payload.get("event", "")
    upd = payload.get("update") or {}
    context = {
        "page": page, "payload": payload, "incident": inc, "update": upd or None, "event": event,
        "event_title": EVENT_TITLES.get(event, "Update"), "incident_url": f"{base}/incidents/{public_id}",
        "console_url": f"{base}/admin/incidents/{public_id}/accounts", "base_url": base,
        "time_zone": page.time_zone or "UTC", "parse_time": _parse_time,
        "currency": (page.settings or {}).get("currency", "USD"),
    }
    status = upd.get("status") or inc.get("status") or ""
    context["closed"] = event == "postmortem_published" or status in ("resolved", "postmortem")
    context["owners"] = payload.get("owners") or []
    root = root_message_id(public_id, domain)
    if row.kind == "account_regional_digest":
        accounts = payload.get("regional") or []
        failures = [f for a in accounts for f in a.get("failures", [])]
        first = failures[0] if failures else {}
        more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
        subject = (f"[{page.name} accounts] Regional problem seen from {first.get('location', '?')}: "
                   f"{first.get('component', '?')}{more}")
        headers = {"Message-ID": f"<regional.{row.id}@{domain}>"}
        template = "account_regional_digest"
    elif row.kind == "account_team_digest":
        n = len(payload.get("accounts", []))
        state = subject_status(event, inc.get("kind", "incident"), status)
        subject = (f"[{page.name} accounts] {state}: {inc.get('name')} — {n} of your "
                   f"account{'s' if n != 1 else ''} affected")
        message_id = f"<incident-{public_id}.team.{event.replace('_', '-')}.{upd.get('public_id', '-')}.{row.id}@{domain}>"
        headers = {"Message-ID": message_id, "In-Reply-To": f"<incident-{public_id}.team@{domain}>",
                   "References": f"<incident-{public_id}.team@{domain}>"}
        template = "account_team_digest"
    elif row.kind == "account_postmortem":
        subject = f"[{page.name}] {inc.get('name')} — root-cause analysis"
        message_id = f"<incident-{public_id}.postmortem.{row.id}@{domain}>"
        headers = {"Message-ID": message_id, "In-Reply-To": root, "References": root}
        template = "account_postmortem"
    else:
        subject = notification_subject(page.name, event, inc.get("kind", "incident"), status, inc.get("name", ""))
        if event in ROOT_EVENTS:
            headers = {"Message-ID": root}
        else:
            message_id = f"<incident-{public_id}.{event.replace('_', '-')}.{upd.get('public_id', '-')}.account@{domain}>"
            headers = {"Message-ID": message_id, "In-Reply-To": root, "References": root}
        template = "account_contact"
    headers["Auto-Submitted"] = "auto-generated"
    if row.kind != "account_team_digest" and context["owners"]:
        # A customer's reply reaches their account manager, not the status page's sender address.
        headers["Reply-To"] = ", ".join(context["owners"])
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", **context)
    return subject, text, html, headers


def render_account_template(row: dict[str, Any], base_url: str) -> MessageTemplate:
    """The message of an account outbox row (for delivery), from :func:`render_account_message`."""
    settings = current_app.extensions["statuspage.settings"]
    page = get_page()
    subject, text, html, headers = render_account_message(SimpleNamespace(**row), page, base_url)
    reply_to = [a.strip() for a in headers["Reply-To"].split(",")] if "Reply-To" in headers else None
    return build_template(sender=settings.mail_from, sender_name=page.name, subject=subject, text=text,
                          html=html, message_id=headers["Message-ID"], in_reply_to=headers.get("In-Reply-To"),
                          list_unsubscribe_post=False, reply_to=reply_to,
                          thread_topic=((row.get("payload") or {}).get("incident") or {}).get("name"))
