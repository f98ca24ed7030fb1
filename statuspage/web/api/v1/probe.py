"""/api/v1/probe/<location>/…: the probe agents' API (issue 14).

A probe token is bound to one location: it reads that location's checks and posts its results, and
opens nothing else (``services.users.find_token`` keeps the scopes apart). Results are keyed by
(check, slot, location): a replayed or retried batch counts nothing twice. A batch with some bad rows
keeps its good rows and answers 422 listing the bad ones; a malformed body answers 400/415/422 and
keeps nothing.
"""

from __future__ import annotations

import datetime as dt
import functools

from flask import g, jsonify, request
from flask_login import current_user

from checks.result import ERROR_CLASSES, OUTCOMES, ProbeResult
from checks.validation import ErrorCollector, Fields

from ....db import utcnow
from ....services.monitoring.locations import (
    LocationRow,
    agent_checks,
    ingest_batch,
    location_row,
    stale_after,
)
from ....services.users import find_token
from ...authz import SAFE_METHODS, bearer_token, session_write_refused, use_token
from ..toolkit import ApiError, json_body
from .blueprint import bp

MAX_BATCH = 1000
MAX_AGE = dt.timedelta(days=7)  # older results than the raw-result retention are refused, not stored
MAX_AHEAD = dt.timedelta(minutes=5)  # an agent's clock may run a little ahead, not more


def probe_auth(view):
    """A live probe token bound to the ``location`` in the URL: 401 without one, 403 for another location."""

    @functools.wraps(view)
    def wrapped(location: str, *args, **kwargs):
        plaintext = bearer_token()
        if plaintext is None and current_user.is_authenticated:
            if request.method not in SAFE_METHODS:
                session_write_refused()  # a cookie riding along on a cross-site request: refused as everywhere
            raise ApiError(403, "forbidden", "the probe API takes a probe token, not a console session")
        if plaintext is None:
            raise ApiError(401, "unauthorized", "a probe token is required: Authorization: Bearer <token>",
                           headers={"WWW-Authenticate": 'Bearer realm="statuspage-probe"'})
        token = find_token(plaintext, probe=True)
        if token is None and find_token(plaintext) is not None:
            raise ApiError(403, "forbidden", "a management API token cannot be used here: create a probe token "
                                             "for this location")
        if token is None:
            raise ApiError(401, "unauthorized", "invalid or revoked probe token")
        if token.location != location:
            raise ApiError(403, "forbidden", f"this probe token is for location {token.location!r}, "
                                             f"not {location[:64]!r}")
        use_token(token)
        return view(location, *args, **kwargs)

    wrapped.write_roles = ("probe",)  # read by the route walker: only a probe token writes here
    return wrapped


@bp.get("/probe/<location>/checks")
@probe_auth
def probe_checks(location: str):
    """The network checks this location probes, with their specs."""
    checks = agent_checks(location)
    loc = location_row(location)
    return jsonify({
        "location": location, "stale_after_seconds": stale_after(loc), "server_time": utcnow().isoformat(),
        "checks": [{"id": c.id, "slug": c.slug, "kind": c.kind, "interval_seconds": c.interval_seconds,
                    "timeout_seconds": c.timeout_seconds, "spec": c.spec} for c in checks],
    })


@bp.post("/probe/<location>/results")
@probe_auth
def probe_results(location: str):
    """A batch of results (or, empty, a heartbeat): keeps the good rows, names the bad ones."""
    body = json_body()
    top = Fields(body, "", ErrorCollector())
    top.known({"agent", "results"}, noun="field")
    agent = top.mapping("agent", max_items=20) or {}
    raw = body.get("results")
    if not isinstance(raw, list):
        top.error("results", "required: a list of results (empty for a heartbeat)")
    if top.errors:
        raise ApiError.invalid("; ".join(f"{p or 'body'}: {m}" for p, m in top.errors.problems),
                               {(p or "body")[:200]: m for p, m in top.errors.problems})
    if len(raw) > MAX_BATCH:
        raise ApiError(413, "request_entity_too_large", f"at most {MAX_BATCH} results per batch, got {len(raw)}")
    now = utcnow()
    rows, rejected = [], []
    for i, item in enumerate(raw):
        row, problem = _row(i, item, now)
        if row is not None:
            rows.append(row)
        else:
            rejected.append(problem)
    summary = ingest_batch(location, rows, agent, address=request.remote_addr,
                                  worker_id=f"probe:{location}", now=now)
    rejected = sorted(rejected + summary.rejected, key=lambda r: r["index"])
    body = {"accepted": summary.accepted, "duplicates": summary.duplicates, "rejected": rejected}
    if rejected:
        first = rejected[0]
        body["error"] = {"code": "validation_failed",
                         "message": f"{len(rejected)} of {len(raw)} results refused (the others were kept); "
                                    f"first: {first['field']}: {first['message']}",
                         "fields": {r["field"][:200]: r["message"] for r in rejected[:100]}}
        return jsonify(body), 422
    g.probe_summary = summary
    return jsonify(body)


def _row(index: int, item, now: dt.datetime) -> tuple[LocationRow | None, dict | None]:
    path = f"results[{index}]"
    if not isinstance(item, dict):
        return None, {"index": index, "field": path, "message": "must be an object"}
    f = Fields(item, path, ErrorCollector())
    f.known({"check_id", "slot", "started_at", "outcome", "latency_ms", "status_code", "error_class", "message",
             "conditions", "observed", "checked_at", "reprobed"}, noun="field")
    check_id = f.integer("check_id", 1, 2**31 - 1, required=True)
    slot = f.timestamp("slot", required=True)
    started = f.timestamp("started_at") if item.get("started_at") is not None else slot
    outcome = f.choice("outcome", OUTCOMES, required=True)
    latency = f.number("latency_ms", minimum=0, maximum=10_000_000) if item.get("latency_ms") is not None else None
    status_code = f.integer("status_code", 100, 999) if item.get("status_code") is not None else None
    error_class = f.choice("error_class", ERROR_CLASSES) if item.get("error_class") is not None else None
    message = item.get("message")
    if message is not None and not isinstance(message, str):
        f.error("message", "must be text")
    conditions = item.get("conditions")
    if conditions is not None and (not isinstance(conditions, list) or len(conditions) > 50
                                   or not all(isinstance(c, dict) for c in conditions)):
        f.error("conditions", "must be a list of at most 50 objects")
    if slot is not None and not f.errors:
        if slot < now - MAX_AGE:
            f.error("slot", "is older than the result retention (7 days): not stored")
        elif slot > now + MAX_AHEAD:
            f.error("slot", "is in the future (is the agent's clock right?)")
    if f.errors:
        field, problem = f.errors.problems[0]
        return None, {"index": index, "field": field or path, "message": problem}
    slot = slot.replace(microsecond=(slot.microsecond // 1000) * 1000)
    result = ProbeResult(outcome=outcome, latency_ms=float(latency) if latency is not None else 0.0,
                         status_code=status_code, error_class=error_class, message=(message or "")[:2000],
                         conditions=_bounded_conditions(conditions), checked_at=started)
    return LocationRow(check_id=check_id, slot=slot, started_at=started, result=result, index=index), None


def _bounded_conditions(conditions) -> list:
    out = []
    for c in conditions or []:
        out.append({str(k)[:50]: (v if isinstance(v, (int, float, bool)) or v is None else str(v)[:500])
                    for k, v in list(c.items())[:10]})
    return out
