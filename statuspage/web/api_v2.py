"""Statuspage-compatible public JSON (``/api/v2/*.json``): same paths, field names, types and enums.

Existing tools (the official status widget, monitors of third-party status pages, chat bots) read
these unchanged. Ids are our stable public keys: component and group slugs, incident and update
public ids. Times are ISO 8601 UTC with milliseconds, like Statuspage. Drafts, internal updates,
non-public components and cancelled maintenance never appear.
"""

from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, Response, current_app, g, request

from ..models import Component, Incident, IncidentUpdate
from ..models.constants import worst_status
from ..services.page import get_page
from ..services.site import public as ps
from .public_cache import EXPORT_ENVIRON_KEY, cache_state, public_cached

bp = Blueprint("api_v2", __name__, url_prefix="/api/v2")
LIMIT = 50


def ts(value: dt.datetime | None) -> str | None:
    """Statuspage's timestamp format: 2026-03-03T14:05:09.123Z."""
    if value is None:
        return None
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def public_base_url() -> str:
    """Absolute base URL of the public site (no trailing slash): export base, setting, page, request."""
    exported = request.environ.get(EXPORT_ENVIRON_KEY)
    if exported:
        return exported.rstrip("/")
    settings = current_app.extensions["statuspage.settings"]
    page = get_page()
    return (settings.public_url or page.url or request.host_url).rstrip("/")


def _json(payload: dict) -> Response:
    return Response(json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
                    mimetype="application/json")


def page_json() -> dict:
    page = get_page()
    _version, changed_at = cache_state()[1].read()
    return {"id": page.public_id, "name": page.name, "url": public_base_url(),
            "time_zone": page.time_zone or "UTC", "updated_at": ts(max(changed_at, page.updated_at or changed_at))}


def _component_json(c: Component, page_id: str, position: int) -> dict:
    return {"id": c.slug, "name": c.name, "status": c.status, "created_at": ts(c.created_at),
            "updated_at": ts(c.updated_at), "position": position, "description": c.description or None,
            "showcase": bool(c.showcase), "start_date": c.start_date.isoformat() if c.start_date else None,
            "group_id": c.group.slug if c.group is not None and c.group.archived_at is None else None,
            "page_id": page_id, "group": False, "only_show_if_degraded": bool(c.only_show_if_degraded)}


def components_json() -> list[dict]:
    """Groups (group: true, with their children's ids) and components, in display order."""
    page_id = get_page().public_id
    out: list[dict] = []
    position = 0
    for group, comps in ps.grouped(ps.public_components()):
        if group is not None:
            position += 1
            out.append({"id": group.slug, "name": group.name, "status": worst_status(c.status for c in comps),
                        "created_at": ts(group.created_at),
                        "updated_at": ts(max((c.updated_at for c in comps), default=group.created_at)),
                        "position": position, "description": group.description or None, "showcase": False,
                        "start_date": None, "group_id": None, "page_id": page_id, "group": True,
                        "only_show_if_degraded": False, "components": [c.slug for c in comps]})
        for c in comps:
            position += 1
            out.append(_component_json(c, page_id, position))
    return out


def _positions() -> dict[int, int]:
    """Display positions of components, computed once per request (a list holds many incidents)."""
    if "api_v2_positions" not in g:
        g.api_v2_positions = ps.display_positions()[1]
    return g.api_v2_positions


def _update_json(u: IncidentUpdate, inc: Incident) -> dict:
    changes = [{"code": ch.component.slug, "name": ch.component.name,
                "old_status": ch.old_status or "operational", "new_status": ch.new_status}
               for ch in u.component_changes if ch.component is not None and ch.component.public]
    return {"id": u.public_id, "status": u.status, "body": u.body or "", "incident_id": inc.public_id,
            "created_at": ts(u.created_at), "updated_at": ts(u.created_at), "display_at": ts(u.display_at),
            "affected_components": changes or None, "deliver_notifications": bool(u.notify),
            "custom_tweet": None, "tweet_id": None}


def incident_json(inc: Incident) -> dict:
    """One incident or scheduled maintenance in Statuspage's shape (updates newest first)."""
    page_id = get_page().public_id
    updates = ps.public_updates(inc)
    monitoring = [u.display_at for u in updates if u.status == "monitoring"]
    comps = ps.affected_public_components(inc)
    resolved_at = inc.resolved_at
    if inc.kind == "maintenance" and inc.status == "completed" and resolved_at is None:
        resolved_at = inc.scheduled_until
    out = {
        "id": inc.public_id, "name": inc.name, "status": inc.status,
        "created_at": ts(inc.published_at or inc.created_at),
        "updated_at": ts(max([inc.updated_at or inc.created_at] + [u.created_at for u in updates])),
        "monitoring_at": ts(min(monitoring)) if monitoring else None, "resolved_at": ts(resolved_at),
        "impact": "maintenance" if inc.kind == "maintenance" else (
            inc.effective_impact if inc.effective_impact in ("none", "minor", "major", "critical") else "none"),
        "shortlink": f"{public_base_url()}/incidents/{inc.public_id}",
        "started_at": ts(ps.incident_time(inc)), "page_id": page_id,
        "incident_updates": [_update_json(u, inc) for u in updates],
        "components": [_component_json(c, page_id, _positions().get(c.id, c.position)) for c in comps],
    }
    if inc.kind == "maintenance":
        out["scheduled_for"] = ts(inc.scheduled_for)
        out["scheduled_until"] = ts(inc.scheduled_until)
    return out


def status_json() -> dict:
    overall = ps.overall_status(ps.visible_components(ps.public_components()), ps.unresolved_incidents(),
                                ps.active_maintenance())
    return {"indicator": overall.indicator, "description": overall.description}


@bp.get("/summary.json")
@public_cached(cors=True)
def summary():
    maintenance = ps.active_maintenance() + ps.upcoming_maintenance()
    return _json({"page": page_json(), "components": components_json(),
                  "incidents": [incident_json(i) for i in ps.unresolved_incidents()],
                  "scheduled_maintenances": [incident_json(m) for m in maintenance],
                  "status": status_json()})


@bp.get("/status.json")
@public_cached(cors=True)
def status():
    return _json({"page": page_json(), "status": status_json()})


@bp.get("/components.json")
@public_cached(cors=True)
def components():
    return _json({"page": page_json(), "components": components_json()})


@bp.get("/incidents.json")
@public_cached(cors=True)
def incidents():
    return _json({"page": page_json(),
                  "incidents": [incident_json(i) for i in ps.recent_incidents("incident", LIMIT)]})


@bp.get("/incidents/unresolved.json")
@public_cached(cors=True)
def incidents_unresolved():
    return _json({"page": page_json(), "incidents": [incident_json(i) for i in ps.unresolved_incidents()]})


@bp.get("/scheduled-maintenances.json")
@public_cached(cors=True)
def maintenances():
    return _json({"page": page_json(), "scheduled_maintenances": [
        incident_json(m) for m in ps.recent_incidents("maintenance", LIMIT)]})


@bp.get("/scheduled-maintenances/upcoming.json")
@public_cached(cors=True)
def maintenances_upcoming():
    return _json({"page": page_json(),
                  "scheduled_maintenances": [incident_json(m) for m in ps.upcoming_maintenance()]})


@bp.get("/scheduled-maintenances/active.json")
@public_cached(cors=True)
def maintenances_active():
    return _json({"page": page_json(),
                  "scheduled_maintenances": [incident_json(m) for m in ps.active_maintenance()]})


@bp.get("/<path:_rest>")
def unknown(_rest: str):
    return not_found(None)


@bp.errorhandler(404)
def not_found(_exc):
    resp = _json({"error": {"code": "not_found", "message": "No such resource in the public API.", "fields": {}}})
    resp.status_code = 404
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp
