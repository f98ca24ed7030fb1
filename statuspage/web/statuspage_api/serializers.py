"""Our objects in Statuspage's management API shapes (its OpenAPI schemas Page, Component,
GroupComponent, Incident, IncidentUpdate, Postmortem, Subscriber, IncidentTemplate).

Ids are strings: component and group slugs, incident and update public ids, subscriber and template
row ids. Times are UTC with milliseconds (``2026-03-03T14:05:09.123Z``), as on /api/v2. Positions are
the display order of /api/v2 (groups and components counted together, 1-based). Fields about
things we do not have (tweets, SMS, page access users, CSS) are present with null/false so clients
find every documented field.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from ...extensions import db
from ...models import (
    Component,
    ComponentGroup,
    Incident,
    IncidentUpdate,
    Page,
    Postmortem,
    Subscriber,
    SubscriberComponent,
    UpdateTemplate,
)
from ...models.constants import worst_status
from ...services.incidents.postmortems import SECTIONS
from ...services.page import get_page
from ...services.site import public as ps
from ..api_v2 import public_base_url, ts

MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
_TITLES = {key: title for key, title, _ in SECTIONS}


def page_json(page: Page) -> dict[str, Any]:
    base = public_base_url()
    settings = current_app.extensions["statuspage.settings"]
    return {
        "id": page.public_id, "created_at": ts(page.created_at), "updated_at": ts(page.updated_at),
        "name": page.name, "page_description": None, "headline": None, "branding": "basic",
        "subdomain": None, "domain": urlsplit(base).netloc or None, "url": None, "support_url": None,
        "hidden_from_search": False, "allow_page_subscribers": True, "allow_incident_subscribers": False,
        "allow_email_subscribers": True, "allow_sms_subscribers": False, "allow_rss_atom_feeds": True,
        "allow_webhook_subscribers": False, "notifications_from_email": settings.mail_from,
        "notifications_email_footer": None, "activity_score": 0, "twitter_username": None,
        "viewers_must_be_team_members": False, "ip_restrictions": None, "city": None, "state": None,
        "country": None, "time_zone": page.time_zone or "UTC",
        **{f"css_{name}": None for name in ("body_background_color", "font_color", "light_font_color", "greens",
                                            "yellows", "oranges", "blues", "reds", "border_color", "graph_color",
                                            "link_color", "no_data")},
        "favicon_logo": None, "transactional_logo": None, "hero_cover": None, "email_logo": None,
        "twitter_logo": None,
    }


class Positions:
    """Display positions of groups and components (one query, computed once per response)."""

    def __init__(self) -> None:
        self.groups, self.components = ps.display_positions()
        self.last = max([0, *self.groups.values(), *self.components.values()])

    def of_group(self, group: ComponentGroup) -> int:
        return self.groups.get(group.id, self.last + 1)

    def of_component(self, comp: Component) -> int:
        return self.components.get(comp.id, self.last + 1)


def component_json(c: Component, positions: Positions, page_id: str | None = None) -> dict[str, Any]:
    group = c.group if c.group is not None and c.group.archived_at is None else None
    return {"id": c.slug, "page_id": page_id or get_page().public_id, "group_id": group.slug if group else None,
            "created_at": ts(c.created_at), "updated_at": ts(c.updated_at), "group": False, "name": c.name,
            "description": c.description, "position": positions.of_component(c), "status": c.status,
            "showcase": bool(c.showcase), "only_show_if_degraded": bool(c.only_show_if_degraded),
            "automation_email": None, "start_date": c.start_date.isoformat() if c.start_date else None}


def group_members(group: ComponentGroup) -> list[Component]:
    return sorted((c for c in group.components if c.archived_at is None and c.public),
                  key=lambda c: (c.position, c.id))


def group_json(group: ComponentGroup, positions: Positions, page_id: str | None = None) -> dict[str, Any]:
    members = group_members(group)
    return {"id": group.slug, "page_id": page_id or get_page().public_id, "name": group.name,
            "description": group.description, "components": [c.slug for c in members],
            "position": positions.of_group(group), "created_at": ts(group.created_at),
            "updated_at": ts(max([group.created_at] + [c.updated_at for c in members if c.updated_at]))}


def group_as_component_json(group: ComponentGroup, positions: Positions, page_id: str) -> dict[str, Any]:
    """A group in the components list, as Statuspage lists them (``group: true``)."""
    out = group_json(group, positions, page_id)
    members = group_members(group)
    out.update({"group_id": None, "group": True, "status": worst_status(c.status for c in members),
                "showcase": False, "only_show_if_degraded": False, "automation_email": None, "start_date": None})
    return out


def update_json(u: IncidentUpdate, inc: Incident) -> dict[str, Any]:
    changes = [{"code": ch.component.slug, "name": ch.component.name,
                "old_status": ch.old_status or "operational", "new_status": ch.new_status}
               for ch in u.component_changes if ch.component is not None and ch.component.public]
    return {"id": u.public_id, "incident_id": inc.public_id, "status": u.status, "body": u.body or "",
            "created_at": ts(u.created_at), "updated_at": ts(u.created_at), "display_at": ts(u.display_at),
            "affected_components": changes, "deliver_notifications": bool(u.notify), "custom_tweet": None,
            "tweet_id": None, "twitter_updated_at": None, "wants_twitter_update": False}


def postmortem_text(pm: Postmortem | None) -> str:
    """The postmortem as one markdown text: its public sections (a lone summary stays as written)."""
    if pm is None:
        return ""
    sections = [s for s in pm.sections or [] if s.get("public") and (s.get("body") or "").strip()]
    if len(sections) == 1 and sections[0].get("key") == "summary":
        return sections[0]["body"]
    return "\n\n".join(f"##### {s.get('title') or _TITLES.get(s.get('key'), '')}\n\n{s['body'].strip()}"
                       for s in sections)


def incident_status(inc: Incident) -> str:
    """Statuspage's management API has no ``postmortem`` status: a postmortem'd incident is resolved."""
    return "resolved" if inc.status == "postmortem" else inc.status


def incident_json(inc: Incident, positions: Positions, page_id: str | None = None) -> dict[str, Any]:
    page_id = page_id or get_page().public_id
    updates = ps.public_updates(inc)
    monitoring = [u.display_at for u in updates if u.status == "monitoring"]
    pm = inc.postmortem
    published_at = pm.published_at if pm is not None else None
    resolved_at = inc.resolved_at
    if inc.kind == "maintenance" and inc.status == "completed" and resolved_at is None:
        resolved_at = inc.scheduled_until
    maint = inc.kind == "maintenance"
    out: dict[str, Any] = {
        "id": inc.public_id, "components": [component_json(c, positions, page_id)
                                            for c in ps.affected_public_components(inc)],
        "created_at": ts(inc.published_at or inc.created_at),
        "impact": "maintenance" if maint else inc.effective_impact,
        "impact_override": inc.impact_override,
        "incident_updates": [update_json(u, inc) for u in updates], "metadata": {},
        "monitoring_at": ts(min(monitoring)) if monitoring else None, "name": inc.name, "page_id": page_id,
        "postmortem_body": postmortem_text(pm) if published_at is not None else None,
        "postmortem_body_last_updated_at": ts(pm.updated_at) if pm is not None else None,
        "postmortem_ignored": False, "postmortem_notified_subscribers": False,
        "postmortem_notified_twitter": False,
        "postmortem_published_at": ts(published_at),
        "resolved_at": ts(resolved_at),
        "scheduled_auto_completed": bool(maint and inc.auto_transition),
        "scheduled_auto_in_progress": bool(maint and inc.auto_transition),
        "scheduled_for": ts(inc.scheduled_for) if maint else None,
        "auto_transition_deliver_notifications_at_end": bool(maint and inc.notify),
        "auto_transition_deliver_notifications_at_start": bool(maint and inc.notify),
        "auto_transition_to_maintenance_state": maint, "auto_transition_to_operational_state": maint,
        "scheduled_remind_prior": bool(maint and inc.reminder_minutes),
        "scheduled_reminded_at": ts(inc.reminded_at) if maint else None,
        "scheduled_until": ts(inc.scheduled_until) if maint else None,
        "shortlink": f"{public_base_url()}/incidents/{inc.public_id}",
        "started_at": ts(ps.incident_time(inc)), "status": incident_status(inc),
        "updated_at": ts(max([inc.updated_at or inc.created_at] + [u.created_at for u in updates])),
    }
    return out


def postmortem_json(pm: Postmortem) -> dict[str, Any]:
    text = postmortem_text(pm)
    return {"preview_key": None, "body": text if pm.published_at is not None else None,
            "body_updated_at": ts(pm.updated_at) if pm.published_at is not None else None,
            "body_draft": text, "body_draft_updated_at": ts(pm.updated_at),
            "published_at": ts(pm.published_at), "notify_subscribers": False, "notify_twitter": False,
            "custom_tweet": None, "created_at": ts(pm.created_at), "updated_at": ts(pm.updated_at)}


def subscriber_components(subs: list[Subscriber]) -> dict[int, list[str]]:
    """Component ids each subscriber follows ([] = every component), one query for a page of them."""
    ids = [s.id for s in subs if not s.all_components]
    out: dict[int, list[str]] = {s.id: [] for s in subs}
    if ids:
        for sid, slug in db.session.execute(
                select(SubscriberComponent.subscriber_id, Component.slug)
                .join(Component, Component.id == SubscriberComponent.component_id)
                .where(SubscriberComponent.subscriber_id.in_(ids), Component.archived_at.is_(None),
                       Component.public.is_(True))
                .order_by(Component.position, Component.id)):
            out[sid].append(slug)
    return out


def subscriber_json(s: Subscriber, components: list[str]) -> dict[str, Any]:
    return {"id": str(s.id), "mode": s.kind, "email": s.email if s.kind == "email" else None,
            "endpoint": s.webhook_url if s.kind == "webhook" else None, "components": components,
            "created_at": ts(s.created_at), "quarantined_at": ts(s.quarantined_at), "purge_at": None,
            "skip_confirmation_notification": False, "phone_number": None, "phone_country": None,
            "display_phone_number": None, "obfuscated_channel_name": None, "workspace_name": None,
            "page_access_user_id": None, "state": statuspage_state(s)}


def statuspage_state(s: Subscriber) -> str:
    """Our subscriber state in Statuspage's words: active, unconfirmed, quarantined or unsubscribed."""
    return {"pending": "unconfirmed"}.get(s.state, s.state)


def template_json(t: UpdateTemplate) -> dict[str, Any]:
    return {"id": str(t.id), "components": [], "name": t.name, "title": t.title or "", "body": t.body or "",
            "group_id": None, "update_status": t.status, "should_tweet": False,
            "should_send_notifications": True}


def is_maintenance_status(status: str | None) -> bool:
    return status in MAINTENANCE_STATUSES
