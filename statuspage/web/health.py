"""Liveness and readiness of the app itself."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from ..extensions import csrf, db

bp = Blueprint("health", __name__)
csrf.exempt(bp)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Also a check target for the embedded example config."""
    resp = jsonify(status="ok")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers and its schema is at the current migration."""
    from ..migrations_state import schema_is_current

    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - report, don't crash the probe
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable", error=type(exc).__name__), 503
    current, detail = schema_is_current()
    if not current:
        return jsonify(status="unavailable", database="ok", migrations=detail), 503
    return jsonify(status="ok", database="ok", migrations=detail)


@bp.get("/healthz/monitoring")
def monitoring():
    """For an external watchdog: 503 when no worker has run checks for STATUSPAGE_MONITORING_STALE_AFTER."""
    from flask import current_app

    from ..services.monitoring.selfcheck import monitoring_state

    state = monitoring_state(current_app.extensions["statuspage.settings"].monitoring_stale_after)
    body = {"status": "delayed" if state.delayed else "ok", "message": state.message,
            "last_checks_at": state.last_checks_at.isoformat() if state.last_checks_at else None,
            "workers_alive": state.workers_alive}
    resp = jsonify(body)
    resp.status_code = 503 if state.delayed else 200
    resp.headers["Cache-Control"] = "no-store"
    return resp
