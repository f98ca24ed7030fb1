"""Heartbeat push URLs: a cron job or backup script calls /ping/<token> when it has run."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .. import writes
from ..extensions import csrf
from ..services.monitoring.tools import record_ping

bp = Blueprint("ping", __name__)
csrf.exempt(bp)


@bp.route("/ping/<token>", methods=["GET", "POST", "HEAD"])
@writes
def ping(token: str):
    if len(token) > 64 or not record_ping(token):
        return jsonify(error={"code": "not_found", "message": "unknown heartbeat token", "fields": {}}), 404
    resp = jsonify(status="ok")
    resp.headers["Cache-Control"] = "no-store"
    return resp
