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
    """For an external watchdog: 503 when no worker has run checks for STATUSPAGE_MONITORING_STALE_AFTER,
    or when checks start later than STATUSPAGE_MONITORING_MAX_START_LAG (p99 over the last minute)."""
    from flask import current_app

    from ..services.monitoring.selfcheck import monitoring_state

    settings = current_app.extensions["statuspage.settings"]
    state = monitoring_state(settings.monitoring_stale_after, max_start_lag=settings.monitoring_max_start_lag)
    status = "delayed" if state.delayed else "lagging" if state.lagging else "ok"
    body = {"status": status, "message": state.message,
            "last_checks_at": state.last_checks_at.isoformat() if state.last_checks_at else None,
            "workers_alive": state.workers_alive, "start_lag_p99_seconds": state.start_lag_p99,
            "max_start_lag_seconds": state.max_start_lag, "saturated_workers": state.saturated_workers}
    resp = jsonify(body)
    resp.status_code = 503 if status != "ok" else 200
    resp.headers["Cache-Control"] = "no-store"
    return resp
