"""The console (/admin): dashboard, incidents and their composer, maintenance, postmortems, reports.

Views parse the form, check the role, call one service function and render or redirect. People,
tokens and the audit log live in admin_people.py on the same blueprint.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..db import utcnow
from ..extensions import db
from ..models import ActionItem, Check, Component, Incident, IncidentCheck, Postmortem, UpdateTemplate
from ..models.constants import COMPONENT_STATUSES, OPEN_INCIDENT_STATUSES
from ..services.incidents import lifecycle as lifecycle_svc
from ..services.incidents import maintenance as maint_svc
from ..services.incidents import postmortems as pm_svc
from ..services.incidents import reports as report_svc
from ..services.incidents import templates as templates_svc
from ..services.incidents.lifecycle import IncidentError
from ..services.monitoring.silence import silence_check
from ..services.page import get_page
from .authz import EVERYONE, current_actor, require_role

bp = Blueprint("admin", __name__, url_prefix="/admin")

WRITERS = ("responder",)
UPDATE_STATUSES = lifecycle_svc.INCIDENT_FLOW
NEXT_STATUS = {"investigating": "identified", "identified": "monitoring", "monitoring": "resolved",
               "resolved": "resolved", "postmortem": "resolved"}
PER_PAGE = 50


@bp.context_processor
def _globals() -> dict[str, Any]:
    return {"page": get_page(), "COMPONENT_STATUSES": COMPONENT_STATUSES, "UPDATE_STATUSES": UPDATE_STATUSES,
            "fmt_duration": report_svc.format_duration}


# --- parsing helpers ---------------------------------------------------------------------------------


def parse_local(value: str | None, field: str) -> dt.datetime | None:
    """A `datetime-local` value in the page's zone (or ISO 8601 with an offset) → aware UTC."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise IncidentError("use the form YYYY-MM-DDTHH:MM", field) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=get_page().tz)
    return parsed.astimezone(dt.UTC)


def to_local_input(value: dt.datetime | None) -> str:
    return value.astimezone(get_page().tz).strftime("%Y-%m-%dT%H:%M") if value else ""


def _component_statuses(form) -> dict[int, str]:
    """Form fields `component-<id>` = status (or empty = not affected)."""
    out = {}
    for key, value in form.items():
        if key.startswith("component-") and value:
            try:
                out[int(key.split("-", 1)[1])] = value
            except ValueError:
                continue
    return out


def _get_incident(public_id: str, kind: str = "incident") -> Incident:
    inc = lifecycle_svc.find_incident(public_id, kind)
    if inc is None:
        abort(404)
    return inc


def _all_components() -> list[Component]:
    return list(db.session.scalars(select(Component).where(Component.archived_at.is_(None))
                                   .order_by(Component.position)))


# --- dashboard ---------------------------------------------------------------------------------------


@bp.get("/")
@require_role(*EVERYONE)
def dashboard():
    now = utcnow()
    open_incidents = db.session.scalars(select(Incident).where(
        Incident.kind == "incident", Incident.status.in_(OPEN_INCIDENT_STATUSES))
        .order_by(Incident.created_at.desc())).all()
    checks = db.session.scalars(select(Check).where(Check.archived_at.is_(None))
                                .options(selectinload(Check.component)).order_by(Check.slug)).all()
    failing = [c for c in checks if c.status in ("down", "degraded")]
    return render_template(
        "admin/dashboard.html", now=now,
        published=[i for i in open_incidents if i.published_at is not None],
        drafts=[i for i in open_incidents if i.published_at is None],
        components=_all_components(), checks=checks, failing=failing,
        maintenance=maint_svc.upcoming_maintenance(now, limit=10))


@bp.get("/checks/<slug>")
@require_role(*EVERYONE)
def check_detail(slug: str):
    from ..services.monitoring.rollups import latency_24h

    check = db.session.scalar(select(Check).where(Check.slug == slug))
    if check is None:
        abort(404)
    return render_template("admin/check.html", check=check, latency=latency_24h(check.id),
                           last=check.last_result or {})


@bp.post("/checks/<slug>/silence")
@require_role(*WRITERS)
def check_silence(slug: str):
    check = db.session.scalar(select(Check).where(Check.slug == slug))
    if check is None:
        abort(404)
    minutes = request.form.get("minutes", "")
    try:
        until = None if minutes in ("", "0") else utcnow() + dt.timedelta(minutes=int(minutes))
        silence_check(check, until, actor=current_actor())
    except (ValueError, IncidentError) as exc:
        flash(f"Could not silence {slug}: {exc}", "error")
    else:
        flash(f"{slug} silenced." if until else f"{slug} is no longer silenced.", "success")
    return redirect(url_for("admin.dashboard"), 303)


# --- incidents ---------------------------------------------------------------------------------------


@bp.get("/incidents")
@require_role(*EVERYONE)
def incidents():
    page_no = max(1, request.args.get("page", 1, type=int) or 1)
    query = select(Incident).where(Incident.kind == "incident").order_by(Incident.created_at.desc())
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page_no - 1) * PER_PAGE)).all()
    return render_template("admin/incidents.html", incidents=rows, page_no=page_no,
                           has_next=page_no * PER_PAGE < total)


@bp.route("/incidents/new", methods=["GET", "POST"])
@require_role(*WRITERS)
def incident_new():
    form: dict[str, Any] = {"status": "investigating", "impact": "minor", "notify": True, "publish": True}
    preview = None
    status = 200
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in ("name", "impact", "status", "body", "template")}
        form["notify"] = bool(request.form.get("notify"))
        form["publish"] = request.form.get("publish", "1") == "1"
        form["components"] = _component_statuses(request.form)
        action = request.form.get("action", "declare")
        if action == "template":
            _apply_template(form)
        elif action == "preview":
            preview = form["body"]
        else:
            try:
                inc = lifecycle_svc.declare_incident(
                    name=form["name"], impact=form["impact"], components=form["components"], body=form["body"],
                    status=form["status"] or "investigating", notify_subscribers=form["notify"],
                    publish=form["publish"], actor=current_actor())
            except IncidentError as exc:
                flash(str(exc), "error")
                status = 400
            else:
                flash("Incident declared." if inc.published_at else "Draft saved.", "success")
                return redirect(url_for("admin.incident", public_id=inc.public_id), 303)
    return render_template("admin/incident_new.html", form=form, preview=preview,
                           components=_all_components(), templates=templates_svc.list_templates()), status


def _apply_template(form: dict[str, Any]) -> None:
    tpl = db.session.get(UpdateTemplate, int(form.get("template") or 0)) if (form.get("template") or "").isdigit() \
        else None
    if tpl is None:
        flash("Choose a template first.", "error")
        return
    form["body"] = tpl.body
    if tpl.status:
        form["status"] = tpl.status
    if tpl.title and not form.get("name"):
        form["name"] = tpl.title


def _incident_page(inc: Incident, composer: dict[str, Any] | None = None, preview: str | None = None,
                   status: int = 200):
    composer = composer or {"status": NEXT_STATUS.get(inc.status, "identified"), "body": "", "notify": True,
                            "components": {ic.component_id: ic.status for ic in inc.components}}
    updates = sorted(inc.updates, key=lambda u: u.created_at, reverse=True)
    checks = db.session.execute(select(IncidentCheck, Check).join(Check, Check.id == IncidentCheck.check_id)
                                .where(IncidentCheck.incident_id == inc.id)).all()
    affected = {ic.component_id for ic in inc.components}
    timestamps = {k: to_local_input(getattr(inc, k)) for k in lifecycle_svc.KEY_TIMESTAMPS}
    from .accounts_admin import impact_context

    return render_template("admin/incident.html", incident=inc, updates=updates, composer=composer,
                           preview=preview, components=_all_components(), affected=affected,
                           templates=templates_svc.list_templates(), checks=checks,
                           timestamps=timestamps,
                           **{k: v for k, v in impact_context(inc).items() if k != "incident"}), status


@bp.get("/incidents/<public_id>")
@require_role(*EVERYONE)
def incident(public_id: str):
    return _incident_page(_get_incident(public_id))


@bp.post("/incidents/<public_id>/updates")
@require_role(*WRITERS)
def incident_update(public_id: str):
    inc = _get_incident(public_id)
    composer = {"status": request.form.get("status", ""), "body": request.form.get("body", ""),
                "notify": bool(request.form.get("notify")), "template": request.form.get("template", ""),
                "components": _component_statuses(request.form)}
    action = request.form.get("action", "post")
    if action == "template":
        _apply_template(composer)
        return _incident_page(inc, composer)
    if action == "preview":
        return _incident_page(inc, composer, preview=composer["body"])
    # Only send statuses that change, so the update records real transitions.
    current = {ic.component_id: ic.status for ic in inc.components}
    changes = {cid: s for cid, s in composer["components"].items() if current.get(cid) != s}
    try:
        if inc.published_at is None and request.form.get("publish"):
            lifecycle_svc.publish_draft(inc, actor=current_actor(), body=composer["body"], status=composer["status"],
                                       components=changes, notify_subscribers=composer["notify"])
        else:
            lifecycle_svc.post_update(inc, status=composer["status"], body=composer["body"], components=changes,
                                     notify_subscribers=composer["notify"], actor=current_actor())
    except IncidentError as exc:
        flash(str(exc), "error")
        return _incident_page(inc, composer, status=400)
    flash(f"Update posted: {composer['status']}.", "success")
    return redirect(url_for("admin.incident", public_id=public_id), 303)


@bp.post("/incidents/<public_id>/notes")
@require_role(*WRITERS)
def incident_note(public_id: str):
    inc = lifecycle_svc.find_incident(public_id, None)
    if inc is None:
        abort(404)
    try:
        lifecycle_svc.add_internal_note(inc, request.form.get("body", ""), actor=current_actor())
    except IncidentError as exc:
        flash(str(exc), "error")
    else:
        flash("Internal note added.", "success")
    target = "admin.incident" if inc.kind == "incident" else "admin.maintenance_detail"
    return redirect(url_for(target, public_id=public_id), 303)


@bp.post("/incidents/<public_id>/edit")
@require_role(*WRITERS)
def incident_edit(public_id: str):
    inc = _get_incident(public_id)
    try:
        stamps = {k: parse_local(request.form.get(k), k) for k in lifecycle_svc.KEY_TIMESTAMPS if k in request.form}
        lifecycle_svc.edit_incident(inc, actor=current_actor(), name=request.form.get("name"),
                                   impact=request.form.get("impact") or None, timestamps=stamps)
    except IncidentError as exc:
        flash(str(exc), "error")
    else:
        flash("Incident details saved.", "success")
    return redirect(url_for("admin.incident", public_id=public_id), 303)


@bp.post("/incidents/<public_id>/publish")
@require_role(*WRITERS)
def incident_publish(public_id: str):
    inc = _get_incident(public_id)
    try:
        lifecycle_svc.publish_draft(inc, actor=current_actor(), name=request.form.get("name") or None,
                                   impact=request.form.get("impact") or None,
                                   body=request.form.get("body") or None,
                                   notify_subscribers=bool(request.form.get("notify")))
    except IncidentError as exc:
        flash(str(exc), "error")
    else:
        flash("Incident acknowledged and published.", "success")
    return redirect(url_for("admin.incident", public_id=public_id), 303)


@bp.post("/incidents/<public_id>/discard")
@require_role(*WRITERS)
def incident_discard(public_id: str):
    inc = _get_incident(public_id)
    try:
        lifecycle_svc.delete_draft(inc, actor=current_actor())
    except IncidentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.incident", public_id=public_id), 303)
    flash("Draft discarded.", "success")
    return redirect(url_for("admin.dashboard"), 303)


# --- postmortems -------------------------------------------------------------------------------------


def _postmortem(public_id: str) -> tuple[Incident, Postmortem | None]:
    inc = _get_incident(public_id)
    return inc, inc.postmortem


@bp.get("/incidents/<public_id>/postmortem")
@require_role(*EVERYONE)
def postmortem(public_id: str):
    inc, pm = _postmortem(public_id)
    return render_template("admin/postmortem.html", incident=inc, pm=pm, causes=pm_svc.cause_categories(),
                           action_statuses=pm_svc.ACTION_STATUSES, preview=None, today=utcnow().date())


@bp.post("/incidents/<public_id>/postmortem")
@require_role(*WRITERS)
def postmortem_save(public_id: str):
    inc, pm = _postmortem(public_id)
    actor = current_actor()
    try:
        if pm is None:
            pm = pm_svc.get_or_create_postmortem(inc, actor=actor)
            if "sections-submitted" not in request.form:
                flash("Postmortem started; the timeline is prefilled from the incident.", "success")
                return redirect(url_for("admin.postmortem", public_id=public_id), 303)
        sections = {key: {"body": request.form.get(f"body-{key}", ""),
                          "public": bool(request.form.get(f"public-{key}"))}
                    for key in pm_svc.SECTION_KEYS if f"body-{key}" in request.form}
        pm_svc.save_postmortem(pm, actor=actor, sections=sections,
                               cause_category=request.form.get("cause_category", None))
        action = request.form.get("action", "save")
        if action == "publish":
            pm_svc.publish_postmortem(pm, actor=actor, notify_subscribers=bool(request.form.get("notify")))
            flash("Postmortem published.", "success")
        elif action == "unpublish":
            pm_svc.unpublish_postmortem(pm, actor=actor)
            flash("Postmortem taken off the public page.", "success")
        else:
            flash("Postmortem saved.", "success")
    except IncidentError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.postmortem", public_id=public_id), 303)


@bp.post("/incidents/<public_id>/postmortem/items")
@require_role(*WRITERS)
def action_item_add(public_id: str):
    inc, pm = _postmortem(public_id)
    if pm is None:
        abort(404)
    try:
        pm_svc.add_action_item(pm, title=request.form.get("title", ""), owner=request.form.get("owner"),
                               due_date=request.form.get("due_date"), link=request.form.get("link"),
                               actor=current_actor())
    except IncidentError as exc:
        flash(str(exc), "error")
    else:
        flash("Action item added.", "success")
    return redirect(url_for("admin.postmortem", public_id=public_id) + "#action-items", 303)


@bp.post("/incidents/<public_id>/postmortem/items/<int:item_id>")
@require_role(*WRITERS)
def action_item_update(public_id: str, item_id: int):
    inc, pm = _postmortem(public_id)
    item = db.session.get(ActionItem, item_id)
    if pm is None or item is None or item.postmortem_id != pm.id:
        abort(404)
    try:
        pm_svc.update_action_item(item, actor=current_actor(), status=request.form.get("status"),
                                  owner=request.form.get("owner"), due_date=request.form.get("due_date"),
                                  link=request.form.get("link"), title=request.form.get("title"))
    except IncidentError as exc:
        flash(str(exc), "error")
    else:
        flash("Action item saved.", "success")
    return redirect(url_for("admin.postmortem", public_id=public_id) + "#action-items", 303)


# --- maintenance -------------------------------------------------------------------------------------


@bp.get("/maintenance")
@require_role(*EVERYONE)
def maintenance():
    rows = db.session.scalars(select(Incident).where(Incident.kind == "maintenance")
                              .order_by(Incident.scheduled_for.desc()).limit(200)).all()
    return render_template("admin/maintenance_list.html", windows=rows)


@bp.route("/maintenance/new", methods=["GET", "POST"])
@require_role(*WRITERS)
def maintenance_new():
    now = utcnow()
    form: dict[str, Any] = {"scheduled_for": to_local_input(now + dt.timedelta(days=1)),
                            "scheduled_until": to_local_input(now + dt.timedelta(days=1, hours=2)),
                            "reminder_minutes": "60", "notify": True, "auto_transition": True, "components": []}
    status = 200
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in ("name", "body", "scheduled_for", "scheduled_until",
                                                       "reminder_minutes")}
        form["notify"] = bool(request.form.get("notify"))
        form["auto_transition"] = bool(request.form.get("auto_transition"))
        form["components"] = [int(c) for c in request.form.getlist("components") if c.isdigit()]
        try:
            reminder = int(form["reminder_minutes"]) if form["reminder_minutes"].strip() else None
            m = maint_svc.schedule_maintenance(
                name=form["name"], body=form["body"],
                scheduled_for=parse_local(form["scheduled_for"], "scheduled_for"),
                scheduled_until=parse_local(form["scheduled_until"], "scheduled_until"),
                components=form["components"], auto_transition=form["auto_transition"],
                reminder_minutes=reminder, notify_subscribers=form["notify"], actor=current_actor())
        except ValueError as exc:  # IncidentError is a ValueError; int() too
            flash(str(exc), "error")
            status = 400
        else:
            flash("Maintenance scheduled.", "success")
            return redirect(url_for("admin.maintenance_detail", public_id=m.public_id), 303)
    return render_template("admin/maintenance_new.html", form=form, components=_all_components()), status


@bp.get("/maintenance/<public_id>")
@require_role(*EVERYONE)
def maintenance_detail(public_id: str):
    m = _get_incident(public_id, "maintenance")
    updates = sorted(m.updates, key=lambda u: u.created_at, reverse=True)
    return render_template("admin/maintenance.html", m=m, updates=updates,
                           until_input=to_local_input(m.scheduled_until))


@bp.post("/maintenance/<public_id>/updates")
@require_role(*WRITERS)
def maintenance_update(public_id: str):
    m = _get_incident(public_id, "maintenance")
    action = request.form.get("action", "update")
    try:
        if action == "cancel":
            maint_svc.cancel_maintenance(m, body=request.form.get("body", ""), actor=current_actor())
            flash("Maintenance cancelled.", "success")
        elif action == "extend":
            until = parse_local(request.form.get("scheduled_until"), "scheduled_until")
            if until is None:
                raise IncidentError("give the new end of the window", "scheduled_until")
            maint_svc.extend_maintenance(m, until=until, body=request.form.get("body", ""), actor=current_actor())
            flash("Window extended.", "success")
        else:
            maint_svc.post_maintenance_update(m, status=request.form.get("status", m.status),
                                              body=request.form.get("body", ""),
                                              notify_subscribers=bool(request.form.get("notify")),
                                              actor=current_actor())
            flash("Update posted.", "success")
    except IncidentError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.maintenance_detail", public_id=public_id), 303)


# --- templates and reports ---------------------------------------------------------------------------


@bp.get("/templates")
@require_role(*EVERYONE)
def templates():
    return render_template("admin/templates.html", templates=templates_svc.list_templates())


@bp.post("/templates")
@require_role(*WRITERS)
def template_save():
    tid = request.form.get("id", "")
    tpl = db.session.get(UpdateTemplate, int(tid)) if tid.isdigit() else None
    if tid and tpl is None:
        abort(404)
    try:
        templates_svc.save_template(name=request.form.get("name", ""), body=request.form.get("body", ""),
                                   status=request.form.get("status") or None,
                                   title=request.form.get("title") or None, actor=current_actor(), template=tpl)
    except IncidentError as exc:
        flash(str(exc), "error")
    else:
        flash("Template saved.", "success")
    return redirect(url_for("admin.templates"), 303)


@bp.post("/templates/<int:template_id>/delete")
@require_role(*WRITERS)
def template_delete(template_id: int):
    tpl = db.session.get(UpdateTemplate, template_id)
    if tpl is None:
        abort(404)
    templates_svc.delete_template(tpl, actor=current_actor())
    flash("Template deleted.", "success")
    return redirect(url_for("admin.templates"), 303)


@bp.get("/reports")
@require_role(*EVERYONE)
def reports():
    months = min(max(request.args.get("months", 12, type=int) or 12, 1), 36)
    rows = report_svc.monthly_report(months)
    causes = {c["id"]: c["name"] for c in pm_svc.cause_categories()}
    causes["unclassified"] = "Unclassified"
    used_causes = [c for c in causes if any(c in r.by_cause for r in rows)]
    return render_template("admin/reports.html", rows=rows, causes=causes, used_causes=used_causes,
                           impacts=lifecycle_svc.DECLARABLE_IMPACTS, definitions=report_svc.DEFINITIONS,
                           overdue=pm_svc.overdue_action_items(), months=months)


from . import admin_people  # noqa: E402,F401  (users, tokens and audit log routes on this blueprint)
