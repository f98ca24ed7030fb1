"""What `statuspage page info` and the console show about the page: its id and where its APIs are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..models import Component, ComponentGroup, Incident, Subscriber
from .page import get_page, public_base_url

# Where the Statuspage-compatible management API is mounted (statuspage/web/statuspage_api).
STATUSPAGE_API_PATH = "/api/statuspage/v1"


def statuspage_api_base(base_url: str | None = None) -> str:
    """The base URL a Statuspage client uses here, page included: ``{public URL}/api/statuspage/v1/pages/{id}``."""
    return f"{(base_url or public_base_url()).rstrip('/')}{STATUSPAGE_API_PATH}/pages/{get_page().public_id}"


def _count(query) -> int:
    return int(db.session.scalar(query) or 0)


def page_summary() -> dict[str, Any]:
    """The page id, URLs and a few counts."""
    page = get_page()
    base = public_base_url()
    return {
        "page_id": page.public_id, "name": page.name, "public_url": base, "time_zone": page.time_zone or "UTC",
        "statuspage_api": statuspage_api_base(base), "public_api": f"{base}/api/v2/summary.json",
        "components": _count(select(func.count(Component.id)).where(Component.archived_at.is_(None))),
        "groups": _count(select(func.count(ComponentGroup.id)).where(ComponentGroup.archived_at.is_(None))),
        "incidents": _count(select(func.count(Incident.id)).where(Incident.kind == "incident",
                                                                  Incident.published_at.is_not(None))),
        "open_incidents": _count(select(func.count(Incident.id)).where(
            Incident.kind == "incident", Incident.published_at.is_not(None),
            Incident.status.in_(("investigating", "identified", "monitoring")))),
        "upcoming_maintenance": _count(select(func.count(Incident.id)).where(
            Incident.kind == "maintenance", Incident.status == "scheduled")),
        "active_subscribers": _count(select(func.count(Subscriber.id)).where(
            Subscriber.confirmed_at.is_not(None), Subscriber.unsubscribed_at.is_(None),
            Subscriber.quarantined_at.is_(None))),
    }
