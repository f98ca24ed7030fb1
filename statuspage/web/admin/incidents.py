"""Console incidents: the list, declaring, the page with its one-field update composer, notes, edits, drafts.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from ...extensions import db
from ...models import Check, Incident, IncidentCheck, UpdateTemplate
from ...services.incidents import lifecycle as lifecycle_svc
from ...services.incidents import templates as templates_svc
from ...services.incidents.lifecycle import IncidentError
from ..authz import EVERYONE, current_actor, require_role
from ..query import page_number
from .blueprint import (
    INCIDENT_LABELS,
    NEXT_STATUS,
    PER_PAGE,
    WRITERS,
    all_components,
    bp,
    component_statuses_from,
    form_error,
    incident_or_404,
    parse_local,
    to_local_input,
)


@bp.get("/incidents")
@require_role(*EVERYONE)
def incidents():
    page_no = page_number()
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
        form["components"] = component_statuses_from(request.form)
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
                flash(form_error(exc, {**INCIDENT_LABELS, "body": "First update"}), "error")
                status = 400
            else:
                flash("Incident declared." if inc.published_at else "Draft saved.", "success")
                return redirect(url_for("admin.incident", public_id=inc.public_id), 303)
    return render_template("admin/incident_new.html", form=form, preview=preview,
                           components=all_components(), templates=templates_svc.list_templates()), status


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
    from ..accounts_admin import impact_context

    return render_template("admin/incident.html", incident=inc, updates=updates, composer=composer,
                           preview=preview, components=all_components(), affected=affected,
                           templates=templates_svc.list_templates(), checks=checks,
                           timestamps=timestamps,
                           **{k: v for k, v in impact_context(inc).items() if k != "incident"}), status


@bp.get("/incidents/<public_id>")
@require_role(*EVERYONE)
def incident(public_id: str):
    return _incident_page(incident_or_404(public_id))


@bp.post("/incidents/<public_id>/updates")
@require_role(*WRITERS)
def incident_update(public_id: str):
    inc = incident_or_404(public_id)
    composer = {"status": request.form.get("status", ""), "body": request.form.get("body", ""),
                "notify": bool(request.form.get("notify")), "template": request.form.get("template", ""),
                "components": component_statuses_from(request.form)}
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
                                       components=changes, notify_subscribers=composer["notify"],
                                       require_message=True)
        else:
            lifecycle_svc.post_update(inc, status=composer["status"], body=composer["body"], components=changes,
                                     notify_subscribers=composer["notify"], actor=current_actor(),
                                     require_message=True)
    except IncidentError as exc:
        db.session.rollback()
        flash(form_error(exc, INCIDENT_LABELS), "error")
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
        flash(form_error(exc, {"body": "Internal note"}), "error")
    else:
        flash("Internal note added.", "success")
    target = "admin.incident" if inc.kind == "incident" else "admin.maintenance_detail"
    return redirect(url_for(target, public_id=public_id), 303)


@bp.post("/incidents/<public_id>/updates/<update_id>/correct")
@require_role(*WRITERS)
def update_correct(public_id: str, update_id: str):
    inc = lifecycle_svc.find_incident(public_id, None)
    update = next((u for u in inc.updates if u.public_id == update_id), None) if inc is not None else None
    if update is None:
        abort(404)
    try:
        lifecycle_svc.correct_update(update, body=request.form.get("body", ""), actor=current_actor())
    except IncidentError as exc:
        db.session.rollback()
        flash(f"Update not corrected: {exc}", "error")
    else:
        flash("Update corrected (the change is in the audit log; nobody was notified again).", "success")
    target = "admin.incident" if inc.kind == "incident" else "admin.maintenance_detail"
    return redirect(url_for(target, public_id=public_id) + f"#update-{update_id}", 303)


@bp.post("/incidents/<public_id>/edit")
@require_role(*WRITERS)
def incident_edit(public_id: str):
    inc = incident_or_404(public_id)
    try:
        stamps = {k: parse_local(request.form.get(k), k) for k in lifecycle_svc.KEY_TIMESTAMPS if k in request.form}
        lifecycle_svc.edit_incident(inc, actor=current_actor(), name=request.form.get("name"),
                                   impact=request.form.get("impact") or None, timestamps=stamps)
    except IncidentError as exc:
        db.session.rollback()
        flash(form_error(exc, INCIDENT_LABELS), "error")
    else:
        flash("Incident details saved.", "success")
    return redirect(url_for("admin.incident", public_id=public_id), 303)


@bp.post("/incidents/<public_id>/publish")
@require_role(*WRITERS)
def incident_publish(public_id: str):
    inc = incident_or_404(public_id)
    try:
        lifecycle_svc.publish_draft(inc, actor=current_actor(), name=request.form.get("name") or None,
                                   impact=request.form.get("impact") or None,
                                   body=request.form.get("body") or None,
                                   notify_subscribers=bool(request.form.get("notify")))
    except IncidentError as exc:
        db.session.rollback()
        flash(form_error(exc, INCIDENT_LABELS), "error")
    else:
        flash("Incident acknowledged and published.", "success")
    return redirect(url_for("admin.incident", public_id=public_id), 303)


@bp.post("/incidents/<public_id>/discard")
@require_role(*WRITERS)
def incident_discard(public_id: str):
    inc = incident_or_404(public_id)
    try:
        lifecycle_svc.delete_draft(inc, actor=current_actor())
    except IncidentError as exc:
        flash(form_error(exc, INCIDENT_LABELS), "error")
        return redirect(url_for("admin.incident", public_id=public_id), 303)
    flash("Draft discarded.", "success")
    return redirect(url_for("admin.dashboard"), 303)
