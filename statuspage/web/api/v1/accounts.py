"""/api/v1 accounts: CRUD by CRM id, an incident's affected accounts, the SLA report, the at-risk list.

Reads need any valid token or console user; writes need a write token or an account manager/admin.
The body of an account is the config file's shape; the accounts service validates it (422 with a
field per problem).
"""

from __future__ import annotations

from flask import g, jsonify, request

from ....services.accounts import impact as impact_svc
from ....services.accounts import outreach as outreach_svc
from ....services.accounts import records as records_svc
from ....services.accounts.sla import at_risk_accounts, parse_period, sla_report
from ...authz import api_auth
from ..toolkit import (
    ENVELOPES,
    PAGE_PARAMS,
    ApiError,
    RequestFields,
    accepts_query,
    json_body,
    paginate,
    query_fields,
)
from .blueprint import bp

WRITE = ("account_manager",)
SORTS = ("arr", "name", "renewal")


# JSON types the API takes (the config file and CSV are laxer: YAML and CSV turn ids and amounts into
# numbers or strings on their own; here a mistyped field is malformed, as everywhere in the API).
_TYPES = {"id": str, "name": str, "tier": str, "renewal_date": str, "owner": str, "arr": (int, float),
          "sla_target": (int, float), "team": list, "components": list, "contacts": list}


def _account_body() -> dict:
    """The JSON object of an account; unknown or mistyped fields are malformed (400), the service judges
    the values (422)."""
    data = json_body()
    RequestFields(data, allowed=records_svc.ACCOUNT_FIELDS).done()
    wrong = {key: "must be a number" if expected == (int, float) else f"must be {expected.__name__}"
             for key, expected in _TYPES.items()
             if data.get(key) is not None and (isinstance(data[key], bool) or not isinstance(data[key], expected))}
    for key in ("team", "components"):
        if isinstance(data.get(key), list) and not all(isinstance(v, str) for v in data[key]):
            wrong[key] = "must be a list of strings"
    for i, contact in enumerate(data["contacts"] if isinstance(data.get("contacts"), list) else []):
        if isinstance(contact, dict):
            wrong.update({f"contacts[{i}].{k}": "must be str" for k in ("email", "name", "role", "notify")
                          if contact.get(k) is not None and not isinstance(contact[k], str)})
    if wrong:
        raise ApiError.invalid("; ".join(f"{k}: {v}" for k, v in wrong.items()), wrong)
    return data


def _account(external_id: str):
    acc = records_svc.get_account(external_id)
    if acc is None:
        raise ApiError.not_found(f"no account {external_id!r}")
    return acc


@bp.get("/accounts")
@api_auth("read")
@accepts_query(*PAGE_PARAMS, "owner", "tier", "q", "sort")
def list_accounts():
    f = query_fields()
    owner, tier = f.text("owner", max_len=320), f.text("tier", max_len=50)
    q, sort = f.text("q", max_len=200), f.choice("sort", SORTS, default="arr")
    f.done()
    page = paginate(records_svc.accounts_query(owner=owner or None, tier=tier or None, query=q or None,
                                               sort=sort or "arr"), ENVELOPES)
    return page.respond({"accounts": [records_svc.account_to_dict(a) for a in page.rows]})


@bp.post("/accounts")
@api_auth("write", roles=WRITE)
def create_account():
    acc = records_svc.create_account(_account_body(), actor=g.actor)
    return jsonify(records_svc.account_to_dict(acc)), 201


@bp.get("/accounts/<external_id>")
@api_auth("read")
def get_account(external_id: str):
    return jsonify(records_svc.account_to_dict(_account(external_id)))


@bp.route("/accounts/<external_id>", methods=["PATCH", "PUT"])
@api_auth("write", roles=WRITE)
def update_account(external_id: str):
    """PATCH changes the fields given; PUT replaces the account."""
    acc = _account(external_id)
    records_svc.update_account(acc, _account_body(), actor=g.actor, partial=request.method == "PATCH")
    return jsonify(records_svc.account_to_dict(acc))


@bp.delete("/accounts/<external_id>")
@api_auth("write", roles=WRITE)
def archive_account(external_id: str):
    records_svc.archive_account(_account(external_id), actor=g.actor)
    return "", 204


@bp.get("/incidents/<public_id>/affected-accounts")
@api_auth("read")
def affected_accounts(public_id: str):
    inc = impact_svc.get_incident(public_id)
    if inc is None:
        raise ApiError.not_found(f"no incident {public_id!r}")
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
@accepts_query("from", "to", "account", "format")
def sla():
    """The SLA report for a period (``from``/``to``: dates; ``account``: repeatable). JSON only."""
    f = query_fields()
    f.choice("format", ("json",))  # the console offers CSV; here the answer is JSON, and nothing else is pretended
    for key in ("from", "to"):
        if key in request.args and not request.args[key].strip():
            f.error(key, "a date like 2026-03-01")
    f.done()
    accounts = [a for a in request.args.getlist("account") if a.strip()]
    start, end = parse_period(request.args.get("from"), request.args.get("to"))
    return jsonify(sla_report(start, end, accounts=accounts or None).to_dict())


@bp.get("/sla/at-risk")
@api_auth("read")
@accepts_query("owner")
def at_risk():
    return jsonify({"accounts": [a.to_dict() for a in at_risk_accounts(owner=request.args.get("owner") or None)]})
