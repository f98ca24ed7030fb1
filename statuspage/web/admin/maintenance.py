"""Console maintenance windows, update templates and the incident reports page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ...db import utcnow
from ...extensions import db
from ...models import Incident, UpdateTemplate
from ...services.incidents import lifecycle as lifecycle_svc
from ...services.incidents import maintenance as maint_svc
from ...services.incidents import postmortems as pm_svc
from ...services.incidents import reports as report_svc
from ...services.incidents import templates as templates_svc
from ...services.incidents.lifecycle import IncidentError
from ..authz import EVERYONE, current_actor, require_role
from ..query import int_arg
from .blueprint import (
    MAINTENANCE_LABELS,
    WRITERS,
    all_components,
    bp,
    form_error,
    incident_or_404,
    parse_local,
    to_local_input,
)


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
            reminder = _minutes(form["reminder_minutes"])
            m = maint_svc.schedule_maintenance(
                name=form["name"], body=form["body"],
                scheduled_for=parse_local(form["scheduled_for"], "scheduled_for"),
                scheduled_until=parse_local(form["scheduled_until"], "scheduled_until"),
                components=form["components"], auto_transition=form["auto_transition"],
                reminder_minutes=reminder, notify_subscribers=form["notify"], actor=current_actor())
        except ValueError as exc:  # IncidentError is a ValueError
            flash(form_error(exc, MAINTENANCE_LABELS), "error")
            status = 400
        else:
            flash("Maintenance scheduled.", "success")
            return redirect(url_for("admin.maintenance_detail", public_id=m.public_id), 303)
    return render_template("admin/maintenance_new.html", form=form, components=all_components()), status


def _minutes(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise IncidentError("reminder must be a whole number of minutes", "reminder_minutes")
    return int(value)


@bp.get("/maintenance/<public_id>")
@require_role(*EVERYONE)
def maintenance_detail(public_id: str):
    m = incident_or_404(public_id, "maintenance")
    updates = sorted(m.updates, key=lambda u: u.created_at, reverse=True)
    return render_template("admin/maintenance.html", m=m, updates=updates,
                           until_input=to_local_input(m.scheduled_until))


@bp.post("/maintenance/<public_id>/updates")
@require_role(*WRITERS)
def maintenance_update(public_id: str):
    m = incident_or_404(public_id, "maintenance")
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
        flash(form_error(exc, MAINTENANCE_LABELS), "error")
    return redirect(url_for("admin.maintenance_detail", public_id=public_id), 303)


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
        flash(form_error(exc, {"name": "Name", "body": "Message", "status": "Status", "title": "Incident title"}),
              "error")
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
    months = int_arg("months", 12, 1, 36)
    rows = report_svc.monthly_report(months)
    causes = {c["id"]: c["name"] for c in pm_svc.cause_categories()}
    causes["unclassified"] = "Unclassified"
    used_causes = [c for c in causes if any(c in r.by_cause for r in rows)]
    return render_template("admin/reports.html", rows=rows, causes=causes, used_causes=used_causes,
                           impacts=lifecycle_svc.DECLARABLE_IMPACTS, definitions=report_svc.DEFINITIONS,
                           overdue=pm_svc.overdue_action_items(), months=months)
