"""The console's blueprint (/admin), its template globals and the form parsing its views share.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort
from sqlalchemy import select

from ...extensions import db
from ...models import Component, Incident
from ...models.constants import COMPONENT_STATUSES
from ...services.incidents import lifecycle as lifecycle_svc
from ...services.incidents import reports as report_svc
from ...services.incidents.lifecycle import IncidentError
from ...services.page import get_page

bp = Blueprint("admin", __name__, url_prefix="/admin")


WRITERS = ("responder",)


UPDATE_STATUSES = lifecycle_svc.INCIDENT_FLOW


NEXT_STATUS = {"investigating": "identified", "identified": "monitoring", "monitoring": "resolved",
               "resolved": "resolved", "postmortem": "resolved"}


PER_PAGE = 50


@bp.context_processor
def _globals() -> dict[str, Any]:
    return {"page": get_page(), "COMPONENT_STATUSES": COMPONENT_STATUSES, "UPDATE_STATUSES": UPDATE_STATUSES,
            "fmt_duration": report_svc.format_duration}


def parse_local(value: str | None, field: str) -> dt.datetime | None:
    """A `datetime-local` value in the page's zone (or ISO 8601 with an offset) → aware UTC."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise IncidentError("use the form YYYY-MM-DDTHH:MM", field) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=get_page().tz)
    return parsed.astimezone(dt.UTC)


def to_local_input(value: dt.datetime | None) -> str:
    return value.astimezone(get_page().tz).strftime("%Y-%m-%dT%H:%M") if value else ""


def component_statuses_from(form) -> dict[int, str]:
    """Form fields `component-<id>` = status (or empty = not affected)."""
    out = {}
    for key, value in form.items():
        if key.startswith("component-") and value:
            try:
                out[int(key.split("-", 1)[1])] = value
            except ValueError:
                continue
    return out


def incident_or_404(public_id: str, kind: str = "incident") -> Incident:
    inc = lifecycle_svc.find_incident(public_id, kind)
    if inc is None:
        abort(404)
    return inc


def all_components() -> list[Component]:
    return list(db.session.scalars(select(Component).where(Component.archived_at.is_(None))
                                   .order_by(Component.position)))
