"""Console pages for account teams: accounts, an incident's affected accounts and outreach, SLA reports.

Thin: parse, authorize (viewer+ reads; account managers — and responders for outreach — write), call
services.accounts / services.sla, render.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..db import utcnow
from ..extensions import db
from ..models.constants import CONTACT_NOTIFY_LABELS
from ..services.accounts import impact as impact_svc
from ..services.accounts import outreach as outreach_svc
from ..services.accounts import private_links
from ..services.accounts import records as records_svc
from ..services.accounts import watches as watches_svc
from ..services.accounts.sla import SlaError, at_risk_accounts, parse_period, sla_report
from ..services.notifications.account_mail import send_postmortem_to_accounts
from ..services.page import currency as page_currency
from ..services.page import get_page
from ..templating import format_money
from .authz import EVERYONE, current_actor, require_role, safe_next

bp = Blueprint("accounts_admin", __name__, url_prefix="/admin")

WRITE_ROLES = ("account_manager",)
OUTREACH_ROLES = ("account_manager", "responder")


def _can(roles: tuple[str, ...]) -> bool:
    return current_user.is_authenticated and current_user.role in set(roles) | {"admin"}


@bp.app_context_processor
def _helpers():
    return {"can_manage_accounts": lambda: _can(WRITE_ROLES), "can_outreach": lambda: _can(OUTREACH_ROLES),
            # ARR always with its currency, in one format (``EUR 120,000``), on every console page.
            "money": lambda value: format_money(value, page_currency()), "page_currency": page_currency}


def _account_or_404(external_id: str):
    acc = records_svc.get_account(external_id)
    if acc is None:
        abort(404)
    return acc


def _incident_or_404(public_id: str):
    inc = impact_svc.get_incident(public_id)
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
    rows = records_svc.list_accounts(owner=owner, tier=tier, query=query, sort=sort)
    watching_all = False
    watched: set[int] = set()
    if current_user.role in ("account_manager", "admin"):
        for w in watches_svc.watches_of(current_user):
            if w.account_id is None:
                watching_all = True
            else:
                watched.add(w.account_id)
    total = sum(float(a.arr or 0) for a in rows)
    return render_template("admin/accounts.html", page=get_page(), accounts=rows, owner=owner or "", tier=tier or "",
                           q=query or "", sort=sort, tiers=records_svc.tiers(), total_arr=total, watched=watched,
                           watching_all=watching_all, me=current_user.email)


@bp.get("/accounts/<external_id>")
@require_role(*EVERYONE)
def account(external_id: str):
    from ..services.site.public import incidents_overlapping

    acc = _account_or_404(external_id)
    now = utcnow()
    start, end = parse_period(None, None, now=now)
    report = sla_report(start, end, accounts=[acc.external_id], now=now)
    comp_ids = [ac.component_id for ac in acc.components]
    incidents = incidents_overlapping(now - dt.timedelta(days=90), now, comp_ids) if comp_ids else []
    watches = watches_svc.watches_of(current_user) if current_user.role in ("account_manager", "admin") else []
    link = private_links.account_view_token(acc) if _can(WRITE_ROLES) else None
    return render_template(
        "admin/account.html", page=get_page(), account=acc, sla=report.row(acc.external_id), report=report,
        incidents=incidents, components=sorted((ac.component for ac in acc.components), key=lambda c: c.position),
        watching=any(w.account_id == acc.id for w in watches), notify_labels=CONTACT_NOTIFY_LABELS,
        watching_all=any(w.account_id is None for w in watches),
        view_url=url_for("account_view.view", token=link, _external=True) if link else None)


@bp.post("/accounts/<external_id>/watch")
@require_role(*WRITE_ROLES)
def watch(external_id: str):
    acc = _account_or_404(external_id)
    watches_svc.watch(current_user, acc, actor=current_actor())
    flash(f"You will get the internal digest when an incident touches {acc.name}.", "success")
    return redirect(safe_next(request.form.get("next"), url_for(".account", external_id=external_id)))


@bp.post("/accounts/<external_id>/unwatch")
@require_role(*WRITE_ROLES)
def unwatch(external_id: str):
    acc = _account_or_404(external_id)
    watches_svc.unwatch(current_user, acc, actor=current_actor())
    flash(f"You no longer watch {acc.name}.", "success")
    return redirect(safe_next(request.form.get("next"), url_for(".account", external_id=external_id)))


@bp.post("/accounts/watch-all")
@require_role(*WRITE_ROLES)
def watch_all():
    if request.form.get("on") == "1":
        watches_svc.watch(current_user, None, actor=current_actor())
        flash("You will get the internal digest for every account you own or are on the team of.", "success")
    else:
        watches_svc.unwatch(current_user, None, actor=current_actor())
        flash("You no longer follow all your accounts.", "success")
    return redirect(url_for(".accounts"))


@bp.post("/accounts/<external_id>/view-link/revoke")
@require_role(*WRITE_ROLES)
def revoke_link(external_id: str):
    acc = _account_or_404(external_id)
    private_links.revoke_view_link(acc, actor=current_actor())
    flash("The old private link no longer works. Share the new one below.", "success")
    return redirect(url_for(".account", external_id=external_id) + "#private-link")


# --- creating and editing -----------------------------------------------------------------------------------

CONTACT_ROWS_SPARE = 3  # empty contact rows under the filled ones (no JavaScript needed to add one)
FIELD_LABELS = {"id": "Account id", "name": "Name", "arr": "ARR", "tier": "Tier", "renewal_date": "Renewal date",
                "sla_target": "SLA target", "owner": "Owner", "team": "Account team", "components": "Components",
                "contacts": "Customer contacts", "account": "Account", "owner_email": "Owner"}


def _blank_form() -> dict:
    return {"id": "", "name": "", "arr": "", "tier": "", "renewal_date": "", "sla_target": "", "owner": "",
            "team": "", "components": [], "contacts": []}


def _form_of(acc) -> dict:
    d = records_svc.account_to_dict(acc)
    return {"id": d["id"], "name": d["name"], "arr": f"{acc.arr or 0:f}".rstrip("0").rstrip("."),
            "tier": d["tier"] or "", "renewal_date": d["renewal_date"] or "",
            "sla_target": f"{acc.sla_target:f}".rstrip("0").rstrip(".") if acc.sla_target is not None else "",
            "owner": d["owner"] or "", "team": "\n".join(d["team"]), "components": d["components"],
            "contacts": [{k: c.get(k) or "" for k in ("email", "name", "role", "notify")} for c in d["contacts"]]}


def _form_from_request() -> dict[str, Any]:
    form: dict[str, Any] = {k: request.form.get(k, "").strip() for k in ("id", "name", "arr", "tier", "renewal_date",
                                                          "sla_target", "owner", "team")}
    form["components"] = request.form.getlist("components")
    columns = [request.form.getlist(f"contact_{k}") for k in ("email", "name", "role", "notify")]
    rows = [{"email": e.strip(), "name": n.strip(), "role": r.strip(), "notify": no}
            for e, n, r, no in zip(*columns, strict=False)]
    form["contacts"] = [c for c in rows if c["email"] or c["name"] or c["role"]]  # blank rows: nothing
    return form


def _data_of(form: dict) -> dict:
    """The form as the mapping the config file, the CSV import and the API share (empty = not given)."""
    data: dict = {k: form[k] for k in ("id", "name", "arr", "tier", "renewal_date", "sla_target", "owner")
                  if form[k]}
    team = [t for t in re.split(r"[\s,;]+", form["team"]) if t]
    if team:
        data["team"] = team
    data["components"] = form["components"]
    data["contacts"] = [{k: v for k, v in c.items() if v} for c in form["contacts"]]
    return data


def _contact_rows(form: dict) -> list[dict]:
    return form["contacts"] + [{"email": "", "name": "", "role": "", "notify": "all"}] * CONTACT_ROWS_SPARE


_CONTACT_FIELD = re.compile(r"contacts\[(\d+)\]\.?(\w*)")  # contacts[2].email: the third row's email


def _field_errors(exc: records_svc.AccountError) -> dict[str, str]:
    """AccountError fields → form keys: ``contacts[2].email`` stays (row 3's email), ``team[1]`` → ``team``."""
    out: dict[str, str] = {}
    for key, message in exc.fields.items():
        m = _CONTACT_FIELD.match(key)
        if m:
            out[f"contacts[{m.group(1)}].{m.group(2) or 'email'}"] = message
        else:
            out.setdefault(key.split("[")[0], message)
    return out


def _error_summary(errors: dict[str, str]) -> list[tuple[str, str, str]]:
    """(label, message, id of the field) for the list above the form, each linking to its field."""
    out = []
    for key, message in errors.items():
        m = _CONTACT_FIELD.match(key)  # keys as _field_errors left them: the field is always named
        if m:
            label, anchor = f"Contact {int(m.group(1)) + 1} {m.group(2)}", f"contact-{m.group(2)}-{m.group(1)}"
        else:
            label, anchor = FIELD_LABELS.get(key, key), key
        out.append((label, message, anchor))
    return out


def _render_form(form: dict, *, account=None, errors: dict[str, str] | None = None, status: int = 200):
    comps = sorted(records_svc.component_slugs().values(), key=lambda c: (c.position, c.name))
    return render_template("admin/account_form.html", page=get_page(), form=form, account=account,
                           errors=errors or {}, summary=_error_summary(errors or {}), components=comps,
                           contact_rows=_contact_rows(form), notify_labels=CONTACT_NOTIFY_LABELS,
                           tiers=records_svc.tiers()), status


@bp.route("/accounts/new", methods=["GET", "POST"])
@require_role(*WRITE_ROLES)
def account_new():
    if request.method == "GET":
        return _render_form(_blank_form())
    form = _form_from_request()
    try:
        acc = records_svc.create_account(_data_of(form), actor=current_actor(), source="api")
    except records_svc.AccountError as exc:
        db.session.rollback()
        return _render_form(form, errors=_field_errors(exc), status=409 if exc.code == "conflict" else 400)
    flash(f"Account {acc.name} created.", "success")
    return redirect(url_for(".account", external_id=acc.external_id), 303)


@bp.route("/accounts/<external_id>/edit", methods=["GET", "POST"])
@require_role(*WRITE_ROLES)
def account_edit(external_id: str):
    acc = _account_or_404(external_id)
    if acc.source == "config":
        flash(f"{acc.name} comes from the configuration file: change it there and run `statuspage config apply`.",
              "error")
        return redirect(url_for(".account", external_id=external_id), 303)
    if request.method == "GET":
        return _render_form(_form_of(acc), account=acc)
    form = _form_from_request()
    form["id"] = acc.external_id
    try:
        changed = records_svc.update_account(acc, _data_of(form), actor=current_actor(), partial=False)
    except records_svc.AccountError as exc:
        db.session.rollback()
        return _render_form(form, account=acc, errors=_field_errors(exc), status=400)
    flash(f"Saved {acc.name}: {', '.join(sorted(FIELD_LABELS.get(c, c).lower() for c in changed))} changed."
          if changed else "Nothing changed.", "success")
    return redirect(url_for(".account", external_id=external_id), 303)


@bp.post("/accounts/<external_id>/archive")
@require_role(*WRITE_ROLES)
def account_archive(external_id: str):
    acc = _account_or_404(external_id)
    try:
        records_svc.archive_account(acc, actor=current_actor())
    except records_svc.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".account", external_id=external_id), 303)
    flash(f"{acc.name} is archived: it no longer appears in impact lists or SLA reports.", "success")
    return redirect(url_for(".accounts"), 303)


# --- an incident's affected accounts ---------------------------------------------------------------------------


def impact_context(incident, now: dt.datetime | None = None) -> dict:
    """What templates/admin/_incident_accounts.html needs (the incident console page includes it)."""
    impact = impact_svc.incident_impact(incident, now)
    return {"incident": incident, "impact": impact, "outreach": outreach_svc.outreach_for(incident),
            "has_public_postmortem": bool(incident.postmortem and incident.postmortem.published_at
                                          and any(s.get("public") for s in incident.postmortem.sections or [])),
            "outage_definition": impact_svc.OUTAGE_DEFINITION, "currency": page_currency()}


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
        outreach_svc.record_outreach(inc, acc, action, actor=current_actor(), done=done, note=note)
    except records_svc.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".incident_accounts", public_id=public_id)), 303
    label = {"contacted": "contacted", "rca_sent": "RCA sent", "acknowledged": "acknowledged"}[action]
    flash(f"{acc.name}: {label} {'recorded' if done else 'cleared'}.", "success")
    return redirect(url_for(".incident_accounts", public_id=public_id) + f"#acct-{acc.external_id}"), 303


@bp.post("/incidents/<public_id>/accounts/send-postmortem")
@require_role(*OUTREACH_ROLES)
def send_postmortem(public_id: str):
    inc = _incident_or_404(public_id)
    try:
        n = send_postmortem_to_accounts(inc, actor=current_actor())
    except records_svc.AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for(".incident_accounts", public_id=public_id)), 303
    flash(f"Postmortem queued to {n} contact{'s' if n != 1 else ''}." if n else
          "Every contact has already been sent this postmortem.", "success")
    return redirect(url_for(".incident_accounts", public_id=public_id)), 303


# --- SLA -----------------------------------------------------------------------------------------------------


def _month_choices(now: dt.datetime, count: int = 13) -> list[tuple[str, str]]:
    local = now.astimezone(get_page().tz)
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
        stamp = f"{start.astimezone(get_page().tz).date()}_{(end.astimezone(get_page().tz) - dt.timedelta(seconds=1)).date()}"
        body, mime = (report.to_csv(), "text/csv") if fmt == "csv" else (report.to_json(), "application/json")
        return Response(body, mimetype=mime, headers={
            "Content-Disposition": f'attachment; filename="sla_{stamp}.{fmt}"', "Cache-Control": "private, no-store"})
    risk = at_risk_accounts(now=now, owner=request.args.get("owner") or None)
    tz = get_page().tz
    return render_template(
        "admin/sla.html", page=get_page(), report=report, error=error, months=_month_choices(now),
        month=month, date_from=start.astimezone(tz).date().isoformat(),
        date_to=(end.astimezone(tz) - dt.timedelta(seconds=1)).date().isoformat(), at_risk=risk,
        formula=report.formula, rules=report.rules, query=request.query_string.decode(),
        breached=sum(1 for r in report.rows if r.breached),
        insufficient=sum(1 for r in report.rows if r.verdict == "insufficient_data"))
