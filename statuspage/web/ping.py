"""Heartbeat push URLs: a cron job or backup script calls /ping/<token> when it has run."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from .. import writes
from ..extensions import csrf, limiter
from ..ratelimit import limit_setting
from ..services.monitoring.tools import record_ping

bp = Blueprint("ping", __name__)
csrf.exempt(bp)


def _ping_key() -> str:
    # Per heartbeat URL: a leaked or looping cron job cannot flood the database, others are unaffected.
    return "ping:" + str((request.view_args or {}).get("token", ""))[:64]


@bp.route("/ping/<token>", methods=["GET", "POST", "HEAD"])
@writes
@limiter.limit(lambda: limit_setting("ping_rate_limit"), key_func=_ping_key)
def ping(token: str):
    if len(token) > 64 or not record_ping(token):
        return jsonify(error={"code": "not_found", "message": "unknown heartbeat token", "fields": {}}), 404
    resp = jsonify(status="ok")
    resp.headers["Cache-Control"] = "no-store"
    return resp
