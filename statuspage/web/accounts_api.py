"""/api/v1 for accounts: CRUD, an incident's affected accounts, the SLA report, the at-risk list.

Reads need any valid token or console user; writes need a write token or an account manager/admin.
Errors are the /api/v1 JSON shape {"error": {"code", "message", "fields"}}.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from ..extensions import csrf, db
from ..services.accounts import impact as impact_svc
from ..services.accounts import outreach as outreach_svc
from ..services.accounts import records as records_svc
from ..services.accounts.sla import SlaError, at_risk_accounts, parse_period, sla_report
from .authz import api_auth, api_error, refuse_unknown_query

bp = Blueprint("accounts_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

WRITE = ("account_manager",)
refuse_unknown_query(bp, {"list_accounts": {"owner", "tier", "q", "sort"}, "sla": {"from", "to", "account", "format"},
                          "at_risk": set()})

STATUS = {"invalid": 422, "conflict": 409, "forbidden": 403}


def _json_body():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return None, api_error(400, "bad_request", "expected a JSON object body")
    return data, None


def _account_error(exc: records_svc.AccountError):
    return api_error(STATUS.get(exc.code, 422), exc.code, str(exc), exc.fields)


@bp.get("/accounts")
@api_auth("read")
def list_accounts():
    sort = request.args.get("sort", "arr")
    rows = records_svc.list_accounts(owner=request.args.get("owner") or None, tier=request.args.get("tier") or None,
                             query=request.args.get("q") or None, sort=sort if sort in ("arr", "name", "renewal")
                             else "arr")
    return jsonify({"accounts": [records_svc.account_to_dict(a) for a in rows]})


@bp.post("/accounts")
@api_auth("write", roles=WRITE)
def create_account():
    data, err = _json_body()
    if err:
        return err
    try:
        acc = records_svc.create_account(data, actor=g.actor)
    except records_svc.AccountError as exc:
        db.session.rollback()
        return _account_error(exc)
    db.session.commit()
    return jsonify(records_svc.account_to_dict(acc)), 201


@bp.get("/accounts/<external_id>")
@api_auth("read")
def get_account(external_id: str):
    acc = records_svc.get_account(external_id)
    if acc is None:
        return api_error(404, "not_found", f"no account {external_id!r}")
    return jsonify(records_svc.account_to_dict(acc))


@bp.route("/accounts/<external_id>", methods=["PATCH", "PUT"])
@api_auth("write", roles=WRITE)
def update_account(external_id: str):
    acc = records_svc.get_account(external_id)
    if acc is None:
        return api_error(404, "not_found", f"no account {external_id!r}")
    data, err = _json_body()
    if err:
        return err
    try:
        records_svc.update_account(acc, data, actor=g.actor, partial=request.method == "PATCH")
    except records_svc.AccountError as exc:
        db.session.rollback()
        return _account_error(exc)
    db.session.commit()
    return jsonify(records_svc.account_to_dict(acc))


@bp.delete("/accounts/<external_id>")
@api_auth("write", roles=WRITE)
def archive_account(external_id: str):
    acc = records_svc.get_account(external_id)
    if acc is None:
        return api_error(404, "not_found", f"no account {external_id!r}")
    try:
        records_svc.archive_account(acc, actor=g.actor)
    except records_svc.AccountError as exc:
        db.session.rollback()
        return _account_error(exc)
    db.session.commit()
    return "", 204


@bp.get("/incidents/<public_id>/affected-accounts")
@api_auth("read")
def affected_accounts(public_id: str):
    inc = impact_svc.get_incident(public_id)
    if inc is None:
        return api_error(404, "not_found", f"no incident {public_id!r}")
    impact = impact_svc.incident_impact(inc)
    outreach = outreach_svc.outreach_for(inc)
    body = {"incident": {"id": inc.public_id, "name": inc.name, "status": inc.status, "kind": inc.kind},
            **impact.to_dict()}
    for item, acc in zip(body["accounts"], impact.accounts, strict=True):
        o = outreach.get(acc.id)
        item["outreach"] = {k: (getattr(o, f"{k}_at").isoformat() if o and getattr(o, f"{k}_at") else None)
                            for k in ("contacted", "rca_sent", "acknowledged")}
    return jsonify(body)


@bp.get("/sla")
@api_auth("read")
def sla():
    accounts = [a for a in request.args.getlist("account") if a.strip()]
    try:
        start, end = parse_period(request.args.get("from"), request.args.get("to"))
        report = sla_report(start, end, accounts=accounts or None)
    except SlaError as exc:
        return api_error(400 if exc.field != "account" else 404, "bad_request" if exc.field != "account"
                         else "not_found", str(exc), {exc.field or "period": str(exc)})
    return jsonify(report.to_dict())


@bp.get("/sla/at-risk")
@api_auth("read")
def at_risk():
    return jsonify({"accounts": [a.to_dict() for a in at_risk_accounts(owner=request.args.get("owner") or None)]})
