"""The console's blueprint (/admin), its template globals and the form parsing its views share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
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


# The console's words for the fields the services name in their errors ("name is required" is about the
# field the forms call "Title").
INCIDENT_LABELS = {"name": "Title", "body": "Message", "status": "Status", "impact": "Impact",
                   "started_at": "Impact started", "detected_at": "Detected", "acknowledged_at": "Acknowledged",
                   "mitigated_at": "Mitigated", "resolved_at": "Resolved"}
MAINTENANCE_LABELS = {"name": "Title", "body": "Description", "scheduled_for": "Starts", "scheduled_until": "Ends",
                      "reminder_minutes": "Reminder", "components": "Components under maintenance",
                      "status": "Status"}


def form_error(exc: Exception, labels: Mapping[str, str]) -> str:
    """A service's error in the form's words: ``name is required`` → ``Title is required``.

    Services name their fields as the API does; a person at a form reads the labels next to the inputs.
    """
    message = str(exc)
    field = (getattr(exc, "field", None) or "").split(".")[0]
    label = labels.get(field)
    if label:
        for word in (field.replace("_", " "), field.removesuffix("_at").replace("_", " ")):
            if message.lower().startswith(word + " "):
                return label + message[len(word):]
        if label.lower() not in message.lower():
            return f"{label}: {message}"
    return message[:1].upper() + message[1:]


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
