"""Postmortems: structured sections (each public or internal), action items, cause category, publishing.

Publishing shows the public sections on the incident page and moves the incident to ``postmortem``
(Statuspage's status for it), optionally notifying subscribers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from ...db import utcnow
from ...extensions import db
from ...models import (
    ActionItem,
    Check,
    CheckResult,
    ComponentStatusInterval,
    Incident,
    IncidentCheck,
    Postmortem,
)
from ...models.constants import CAUSE_CATEGORIES, CAUSE_LABELS, STATUS_LABELS
from ...templating import local_time
from ...text import text_problem
from ..audit import Actor, record
from ..notifications import events as notify
from ..page import bump_site_version, get_page
from .lifecycle import IncidentError

# (key, title, public by default)
SECTIONS: tuple[tuple[str, str, bool], ...] = (
    ("summary", "Summary", True),
    ("customer_impact", "Customer impact", True),
    ("timeline", "Timeline", True),
    ("trigger", "Trigger", False),
    ("root_cause", "Root cause", True),
    ("contributing_factors", "Contributing factors", False),
    ("detection", "Detection", False),
    ("resolution", "Resolution", True),
    ("lessons_learned", "Lessons learned", False),
)
SECTION_KEYS = tuple(k for k, _, _ in SECTIONS)
ACTION_STATUSES = ("open", "in_progress", "done", "wont_do")
MAX_SECTION = 50_000


def cause_categories() -> list[dict[str, str]]:
    """The cause taxonomy: Page.settings["cause_categories"] (from config) or the built-in default."""
    configured = (get_page().settings or {}).get("cause_categories")
    if configured:
        return [{"id": c["id"], "name": c["name"]} for c in configured]
    return [{"id": k, "name": CAUSE_LABELS[k]} for k in CAUSE_CATEGORIES]


def _fmt(ts: dt.datetime) -> str:
    # People read the timeline on the public page under "Times shown in <zone>": the page's zone.
    return local_time(ts, get_page().tz, "%Y-%m-%d %H:%M")


def prefill_timeline(incident: Incident) -> str:
    """A markdown timeline from the key timestamps, public updates, status intervals and check results."""
    events: list[tuple[dt.datetime, str]] = []
    for key, label in (("started_at", "Impact started"), ("detected_at", "Detected"),
                       ("acknowledged_at", "Acknowledged"), ("mitigated_at", "Mitigated"),
                       ("resolved_at", "Resolved")):
        value = getattr(incident, key)
        if value is not None:
            events.append((value, f"**{label}**"))
    for upd in incident.updates:
        if upd.internal:
            continue
        first_line = (upd.body or "").strip().splitlines()[0][:200] if (upd.body or "").strip() else ""
        events.append((upd.display_at, f"Update posted: *{upd.status}*" + (f" — {first_line}" if first_line else "")))
    intervals = db.session.scalars(select(ComponentStatusInterval).where(
        ComponentStatusInterval.incident_id == incident.id).order_by(ComponentStatusInterval.started_at)).all()
    for iv in intervals:
        events.append((iv.started_at, f"{iv.component.name} set to {STATUS_LABELS.get(iv.status, iv.status)}"))
    for link in db.session.scalars(select(IncidentCheck).where(IncidentCheck.incident_id == incident.id)):
        check = db.session.get(Check, link.check_id)
        # Conditions as the engine records them (checks/conditions.py: text, resolved, ok, …).
        failing = [c.get("resolved") or c.get("text") for c in (link.result or {}).get("conditions") or []
                   if isinstance(c, dict) and not c.get("ok", c.get("success", True))]
        detail = f": {'; '.join(str(f) for f in failing if f)}" if failing else ""
        events.append((link.created_at, f"Check `{check.slug if check else link.check_id}` failed{detail}"))
        if check is not None and incident.started_at is not None:
            end = incident.resolved_at or utcnow()
            flips = db.session.scalars(select(CheckResult).where(
                CheckResult.check_id == check.id, CheckResult.started_at >= incident.started_at,
                CheckResult.started_at <= end).order_by(CheckResult.started_at)).all()
            last = None
            for res in flips:  # only outcome changes, not every probe
                if res.outcome != last:
                    events.append((res.started_at, f"Check `{check.slug}`: {res.outcome}"
                                   + (f" ({res.message})" if res.message else "")))
                    last = res.outcome
    events.sort(key=lambda e: e[0])
    return "\n".join(f"- {_fmt(at)} — {text}" for at, text in events)


def _default_sections(incident: Incident) -> list[dict[str, Any]]:
    out = []
    for key, title, public in SECTIONS:
        body = prefill_timeline(incident) if key == "timeline" else ""
        out.append({"key": key, "title": title, "body": body, "public": public})
    return out


def get_or_create_postmortem(incident: Incident, *, actor: Actor) -> Postmortem:
    """The incident's postmortem, started with every section (timeline prefilled) on first use."""
    if incident.postmortem is not None:
        return incident.postmortem
    if incident.kind != "incident":
        raise IncidentError("postmortems are written for incidents", "incident")
    pm = Postmortem(incident_id=incident.id, sections=_default_sections(incident),
                    cause_category=incident.cause_category,
                    author_id=actor.id if actor.type == "user" else None)
    db.session.add(pm)
    db.session.flush()
    incident.postmortem = pm
    record(actor, "postmortem.create", "postmortem", incident.public_id)
    db.session.commit()
    return pm


def save_postmortem(pm: Postmortem, *, actor: Actor, sections: Mapping[str, Mapping[str, Any]] | None = None,
                    cause_category: str | None = None,
                    action_items: Mapping[int, Mapping[str, Any]] | None = None,
                    new_item: Mapping[str, Any] | None = None) -> Postmortem:
    """Save section bodies and their public flag ({key: {"body", "public"}}) and the cause category.

    In the same transaction, so one click of the editor loses nothing: changes to existing action
    items ({item id: {"title", "owner", "due_date", "status", "link"}}) and a new item (added when
    its title is given). Nothing is saved when any part is invalid.
    """
    item_changes = []
    for item_id, values in (action_items or {}).items():
        item = next((i for i in pm.action_items if i.id == item_id), None)
        if item is None:
            raise IncidentError(f"unknown action item {item_id}", f"action_items.{item_id}")
        item_changes.append((item, _parse_item(values.get("title"), values.get("owner"), values.get("due_date"),
                                               values.get("status"), values.get("link"))))
    added = None
    if new_item is not None and (new_item.get("title") or "").strip():
        added = _parse_item(new_item.get("title"), new_item.get("owner"), new_item.get("due_date"),
                            new_item.get("status") or "open", new_item.get("link"))
    known = {c["id"] for c in cause_categories()}
    if cause_category not in (None, "") and cause_category not in known:
        raise IncidentError(f"cause category must be one of {', '.join(sorted(known))}", "cause_category")
    before = {"sections": pm.sections, "cause_category": pm.cause_category}
    current = {s["key"]: dict(s) for s in pm.sections or []}
    for key, values in (sections or {}).items():
        if key not in SECTION_KEYS:
            raise IncidentError(f"unknown section {key!r}", f"sections.{key}")
        if not isinstance(values, Mapping):
            raise IncidentError("a section is an object with body and public", f"sections.{key}")
        sec = current.setdefault(key, {"key": key, "title": dict((k, t) for k, t, _ in SECTIONS)[key],
                                       "body": "", "public": False})
        if "body" in values:
            body = values["body"]
            if not isinstance(body, str) or len(body) > MAX_SECTION:
                raise IncidentError(f"body must be text of at most {MAX_SECTION} characters",
                                    f"sections.{key}.body")
            problem = text_problem(body, multiline=True)
            if problem:
                raise IncidentError(f"body {problem}", f"sections.{key}.body")
            sec["body"] = body
        if "public" in values:
            if not isinstance(values["public"], bool):
                raise IncidentError("public must be true or false", f"sections.{key}.public")
            sec["public"] = values["public"]
    pm.sections = [current[k] for k in SECTION_KEYS if k in current]
    if cause_category is not None:
        pm.cause_category = cause_category or None
        pm.incident.cause_category = cause_category or None
    pm.updated_at = utcnow()
    record(actor, "postmortem.save", "postmortem", pm.incident.public_id, before=before,
           after={"sections": pm.sections, "cause_category": pm.cause_category})
    for item, values in item_changes:
        changed = {k: v for k, v in values.items() if getattr(item, k) != v}
        if changed:
            record(actor, "action_item.update", "action_item", item.id,
                   before={k: getattr(item, k) for k in changed}, after=changed)
            for k, v in changed.items():
                setattr(item, k, v)
    if added is not None:
        item = ActionItem(postmortem_id=pm.id, **added)
        pm.action_items.append(item)
        db.session.flush()
        record(actor, "action_item.create", "action_item", item.id, after=added)
    if pm.published_at is not None:
        bump_site_version()
    db.session.commit()
    return pm


def publish_postmortem(pm: Postmortem, *, actor: Actor, notify_subscribers: bool = False,
                       now: dt.datetime | None = None) -> Postmortem:
    """Publish: public sections appear on the incident page and the incident moves to `postmortem`."""
    now = now or utcnow()
    incident = pm.incident
    if incident.published_at is None:
        raise IncidentError("publish the incident before its postmortem", "incident", code="conflict")
    if incident.status not in ("resolved", "postmortem"):
        raise IncidentError("resolve the incident before publishing its postmortem", "status", code="conflict")
    if not any(s.get("public") and (s.get("body") or "").strip() for s in pm.sections or []):
        raise IncidentError("a published postmortem needs at least one public section with text", "sections")
    first = pm.published_at is None
    pm.published_at = pm.published_at or now
    before = incident.status
    incident.status = "postmortem"
    incident.updated_at = now
    record(actor, "postmortem.publish", "postmortem", incident.public_id, before={"status": before},
           after={"status": "postmortem", "notify": notify_subscribers})
    if notify_subscribers and first:
        notify.notify_event("postmortem_published", incident, None)
    bump_site_version()
    db.session.commit()
    return pm


def unpublish_postmortem(pm: Postmortem, *, actor: Actor) -> Postmortem:
    """Take the postmortem off the public page; the incident goes back to resolved."""
    if pm.published_at is None:
        return pm
    pm.published_at = None
    pm.incident.status = "resolved"
    record(actor, "postmortem.unpublish", "postmortem", pm.incident.public_id)
    bump_site_version()
    db.session.commit()
    return pm


def public_sections(pm: Postmortem | None) -> list[dict[str, Any]]:
    """The sections to show publicly: only for a published postmortem, only public ones with text."""
    if pm is None or pm.published_at is None:
        return []
    return [s for s in pm.sections or [] if s.get("public") and (s.get("body") or "").strip()]


def _parse_item(title: str | None, owner: str | None, due_date: Any, status: str | None,
                link: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, value in (("title", title), ("owner", owner), ("link", link)):
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            raise IncidentError(f"{field} {problem}", field)
    if title is not None:
        if not title.strip() or len(title) > 500:
            raise IncidentError("title is required (at most 500 characters)", "title")
        out["title"] = title.strip()
    if owner is not None:
        if len(owner) > 320:
            raise IncidentError("owner is at most 320 characters", "owner")
        out["owner"] = owner.strip() or None
    if due_date is not None:
        if isinstance(due_date, str):
            if due_date == "":
                due_date = None
            else:
                try:
                    due_date = dt.date.fromisoformat(due_date)
                except ValueError as exc:
                    raise IncidentError("due date must be YYYY-MM-DD", "due_date") from exc
        out["due_date"] = due_date
    if status is not None:
        if status not in ACTION_STATUSES:
            raise IncidentError(f"status must be one of {', '.join(ACTION_STATUSES)}", "status")
        out["status"] = status
    if link is not None:
        link = link.strip()
        if link and not link.startswith(("http://", "https://")):
            raise IncidentError("link must be an http(s) URL", "link")
        if len(link) > 1000:
            raise IncidentError("link is at most 1000 characters", "link")
        out["link"] = link or None
    return out


def add_action_item(pm: Postmortem, *, title: str, actor: Actor, owner: str | None = None,
                    due_date: Any = None, status: str = "open", link: str | None = None) -> ActionItem:
    """Add a follow-up to the postmortem."""
    values = _parse_item(title, owner, due_date, status, link)
    item = ActionItem(postmortem_id=pm.id, **values)
    pm.action_items.append(item)
    db.session.flush()
    record(actor, "action_item.create", "action_item", item.id, after=values)
    db.session.commit()
    return item


def update_action_item(item: ActionItem, *, actor: Actor, title: str | None = None, owner: str | None = None,
                       due_date: Any = None, status: str | None = None, link: str | None = None) -> ActionItem:
    """Change an action item (status, owner, due date, link, title)."""
    values = _parse_item(title, owner, due_date, status, link)
    before = {k: getattr(item, k) for k in values}
    for k, v in values.items():
        setattr(item, k, v)
    record(actor, "action_item.update", "action_item", item.id, before=before, after=values)
    db.session.commit()
    return item


def overdue_action_items(today: dt.date | None = None) -> list[ActionItem]:
    """Open or in-progress action items whose due date has passed, oldest due first."""
    today = today or utcnow().date()
    return list(db.session.scalars(select(ActionItem).where(
        ActionItem.status.in_(("open", "in_progress")), ActionItem.due_date < today)
        .order_by(ActionItem.due_date)))
