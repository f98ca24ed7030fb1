"""/api/v1 probe locations (issue 14): each location's freshness, lag, agent and buffer — what
/admin/locations shows — for any read token or signed-in role."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from ....db import utcnow
from ....services.monitoring.location_report import LocationSummary, location_summaries, location_summary
from ...authz import api_auth
from ..toolkit import PAGE_PARAMS, ApiError, PageOf, accepts_query, page_window
from .blueprint import bp
from .serializers import iso


def location_json(s: LocationSummary) -> dict[str, Any]:
    return {"id": s.slug, "name": s.name, "local": s.local, "state": s.state, "stale": s.state == "stale",
            "stale_after_seconds": s.stale_after_seconds, "last_report_at": iso(s.last_report_at),
            "last_report_age_seconds": s.age_seconds, "stale_since": iso(s.stale_since),
            "lag_seconds": s.lag_seconds, "agent_version": s.agent_version, "agent_host": s.agent_host,
            "agent_address": s.agent_address, "checks_assigned": s.checks_assigned,
            "buffer_depth": s.buffer_depth, "oldest_buffered_at": iso(s.oldest_buffered_at), "dropped": s.dropped,
            "results_received": s.results_received}


@bp.get("/locations")
@api_auth("read")
@accepts_query(*PAGE_PARAMS)
def locations():
    window = page_window()
    rows = location_summaries(utcnow())
    page = PageOf(rows=rows[window.offset:window.offset + window.limit], total=len(rows), window=window)
    return page.respond([location_json(s) for s in page.rows])


@bp.get("/locations/<slug>")
@api_auth("read")
def location(slug: str):
    found = location_summary(slug, utcnow())
    if found is None:
        raise ApiError.not_found(f"no probe location {slug[:64]!r}")
    return jsonify(location_json(found))
