"""Console pages for account teams: accounts, an incident's affected accounts and outreach, SLA reports.

Thin: parse, authorize (viewer+ reads; account managers — and responders for outreach — write), call
services.accounts / services.sla, render.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..db import utcnow
from ..extensions import db
from ..services import accounts as svc
from ..services.site import get_page
from ..services.sla import SlaError, at_risk_accounts, formula_text, page_zone, parse_period, sla_report
from ..services.uptime import Weights
from .authz import EVERYONE, current_actor, require_role, safe_next

bp = Blueprint("accounts_admin", __name__, url_prefix="/admin")

WRITE_ROLES = ("account_manager",)
OUTREACH_ROLES = ("account_manager", "responder")


def _can(roles: tuple[str, ...]) -> bool:
    return current_user.is_authenticated and current_user.role in set(roles) | {"admin"}


@bp.app_context_processor
def _helpers():
    return {"can_manage_accounts": lambda: _can(WRITE_ROLES), "can_outreach": lambda: _can(OUTREACH_ROLES)}


def _account_or_404(external_id: str):
    acc = svc.get_account(external_id)
    if acc is None:
        abort(404)
    return acc


def _incident_or_404(public_id: str):
    inc = svc.get_incident(public_id)
    if inc is None:
        abort(404)
    return inc


# --- accounts ---------------------------------------------------------------------------------------------


@bp.get("/accounts")
@require_role(*EVERYONE)
def accounts():
    owner = request.args.get("owner", "").strip() or None
    tier = request.args.get("tier", "").strip() or None
    query = request.args.get("q", "").strip() or None
    sort = request.args.get("sort", "arr")
    if sort not in ("arr", "name", "renewal"):
        sort = "arr"
    rows = svc.list_accounts(owner=owner, tier=tier, query=query, sort=sort)
    watching_all = False
    watched: set[int] = set()
    if current_user.role in ("account_manager", "admin"):
        for w in svc.watches_of(current_user):
            if w.account_id is None:
                watching_all = True
            else:
                watched.add(w.account_id)
    total = sum(float(a.arr or 0) for a in rows)
    return render_template("admin/accounts.html", page=get_page(), accounts=rows, owner=owner or "", tier=tier or "",
                           q=query or "", sort=sort, tiers=svc.tiers(), total_arr=total, watched=watched,
                           watching_all=watching_all, me=current_user.email)


@bp.get("/accounts/<external_id>")
@require_role(*EVERYONE)
def account(external_id: str):
    from ..services.public_site import incidents_overlapping

    acc = _account_or_404(external_id)
    now = utcnow()
    start, end = parse_period(None, None, now=now)
    report = sla_report(start, end, accounts=[acc.external_id], now=now)
    comp_ids = [ac.component_id for ac in acc.components]
    incidents = incidents_overlapping(now - dt.timedelta(days=90), now, comp_ids) if comp_ids else []
    watches = svc.watches_of(current_user) if current_user.role in ("account_manager", "admin") else []
    link = svc.account_view_token(acc) if _can(WRITE_ROLES) else None
    return render_template(
        "admin/account.html", page=get_page(), account=acc, sla=report.row(acc.external_id), report=report,
        incidents=incidents, components=sorted((ac.component for ac in acc.components), key=lambda c: c.position),
        watching=any(w.account_id == acc.id for w in watches),
        watching_all=any(w.account_id is None for w in watches),
        view_url=url_for("account_view.view", token=link, _external=True) if link else None)


@bp.post("/accounts/<external_id>/watch")
@require_role(*WRITE_ROLES)
def watch(external_id: str):
    acc = _account_or_404(external_id)
    svc.watch(current_user, acc, actor=current_actor())
    db.session.commit()
    flash(f"You will get the internal digest when an incident touches {acc.name}.", "success")
    return redirect(safe_next(request.form.get("next"), url_for(".account", external_id=external_id)))


@bp.post("/accounts/<external_id>/unwatch")
@require_role(*WRITE_ROLES)
def unwatch(external_id: str):
    acc = _account_or_404(external_id)
    svc.unwatch(current_user, acc, actor=current_actor())
    db.session.commit()
    flash(f"You no longer watch {acc.name}.", "success")
    return redirect(safe_next(request.form.get("next"), url_for(".account", external_id=external_id)))


@bp.post("/accounts/watch-all")
@require_role(*WRITE_ROLES)
def watch_all():
    if request.form.get("on") == "1":
        svc.watch(current_user, None, actor=current_actor())
        flash("You will get the internal digest for every account you own or are on the team of.", "success")
    else:
        svc.unwatch(current_user, None, actor=current_actor())
        flash("You no longer follow all your accounts.", "success")
    db.session.commit()
    return redirect(url_for(".accounts"))


@bp.post("/accounts/<external_id>/view-link/revoke")
@require_role(*WRITE_ROLES)
def revoke_link(external_id: str):
    acc = _account_or_404(external_id)
    svc.revoke_view_link(acc, actor=current_actor())
    db.session.commit()
    flash("The old private link no longer works. Share the new one below.", "success")
    return redirect(url_for(".account", external_id=external_id) + "#private-link")


# --- an incident's affected accounts ---------------------------------------------------------------------------


def impact_context(incident, now: dt.datetime | None = None) -> dict:
    """What templates/admin/_incident_accounts.html needs (the incident console page includes it)."""
    impact = svc.incident_impact(incident, now)
    return {"incident": incident, "impact": impact, "outreach": svc.outreach_for(incident),
            "has_public_postmortem": bool(incident.postmortem and incident.postmortem.published_at
                                          and any(s.get("public") for s in incident.postmortem.sections or [])),
            "outage_definition": svc.OUTAGE_DEFINITION, "currency": (get_page().settings or {}).get("currency", "USD")}


@bp.get("/incidents/<public_id>/accounts")
@require_role(*EVERYONE)
def incident_accounts(public_id: str):
    inc = _incident_or_404(public_id)
    return render_template("admin/incident_accounts.html", page=get_page(),
                           has_incident_page="admin.incident" in current_app.view_functions, **impact_context(inc))


@bp.post("/incidents/<public_id>/accounts/<external_id>/outreach")
@require_role(*OUTREACH_ROLES)
def outreach(public_id: str, external_id: str):
    inc = _incident_or_404(public_id)
    acc = _account_or_404(external_id)
    action = request.form.get("action", "")
    done = request.form.get("done", "1") != "0"
    note = request.form.get("note")
    try:
        svc.record_outreach(inc, acc, action, actor=current_actor(), done=done, note=note)
    except svc.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".incident_accounts", public_id=public_id)), 303
    db.session.commit()
    label = {"contacted": "contacted", "rca_sent": "RCA sent", "acknowledged": "acknowledged"}[action]
    flash(f"{acc.name}: {label} {'recorded' if done else 'cleared'}.", "success")
    return redirect(url_for(".incident_accounts", public_id=public_id) + f"#acct-{acc.external_id}"), 303


@bp.post("/incidents/<public_id>/accounts/send-postmortem")
@require_role(*OUTREACH_ROLES)
def send_postmortem(public_id: str):
    inc = _incident_or_404(public_id)
    try:
        n = svc.send_postmortem_to_accounts(inc, actor=current_actor())
    except svc.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".incident_accounts", public_id=public_id)), 303
    db.session.commit()
    flash(f"Postmortem queued to {n} contact{'s' if n != 1 else ''}." if n else
          "Every contact has already been sent this postmortem.", "success")
    return redirect(url_for(".incident_accounts", public_id=public_id)), 303


# --- SLA -----------------------------------------------------------------------------------------------------


def _month_choices(now: dt.datetime, count: int = 13) -> list[tuple[str, str]]:
    local = now.astimezone(page_zone())
    out = []
    year, month = local.year, local.month
    for _ in range(count):
        first = dt.date(year, month, 1)
        out.append((first.isoformat()[:7], first.strftime("%B %Y")))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


@bp.get("/sla")
@require_role(*EVERYONE)
def sla():
    now = utcnow()
    month = request.args.get("month", "").strip()
    date_from = request.args.get("from", "").strip() or None
    date_to = request.args.get("to", "").strip() or None
    account_ids = [a for a in request.args.getlist("account") if a.strip()]
    if month and not date_from:
        date_from = f"{month}-01"
    error = None
    try:
        start, end = parse_period(date_from, date_to, now=now)
        report = sla_report(start, end, accounts=account_ids or None, now=now)
    except SlaError as exc:
        error = str(exc)
        start, end = parse_period(None, None, now=now)
        report = sla_report(start, end, now=now)
    fmt = request.args.get("format")
    if fmt in ("csv", "json") and error is None:
        stamp = f"{start.astimezone(page_zone()).date()}_{(end.astimezone(page_zone()) - dt.timedelta(seconds=1)).date()}"
        body, mime = (report.to_csv(), "text/csv") if fmt == "csv" else (report.to_json(), "application/json")
        return Response(body, mimetype=mime, headers={
            "Content-Disposition": f'attachment; filename="sla_{stamp}.{fmt}"', "Cache-Control": "private, no-store"})
    risk = at_risk_accounts(now=now, owner=request.args.get("owner") or None)
    tz = page_zone()
    return render_template(
        "admin/sla.html", page=get_page(), report=report, error=error, months=_month_choices(now),
        month=month, date_from=start.astimezone(tz).date().isoformat(),
        date_to=(end.astimezone(tz) - dt.timedelta(seconds=1)).date().isoformat(), at_risk=risk,
        formula=formula_text(Weights.from_page()), query=request.query_string.decode(),
        breached=sum(1 for r in report.rows if r.breached))
