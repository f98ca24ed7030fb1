"""Console postmortems: structured sections (public or internal), cause, action items.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from ...db import utcnow
from ...extensions import db
from ...models import ActionItem, Incident, Postmortem
from ...services.incidents import postmortems as pm_svc
from ...services.incidents.lifecycle import IncidentError
from ..authz import EVERYONE, current_actor, require_role
from .blueprint import (
    WRITERS,
    bp,
    form_error,
    incident_or_404,
)


def _postmortem(public_id: str) -> tuple[Incident, Postmortem | None]:
    inc = incident_or_404(public_id)
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
                               cause_category=request.form.get("cause_category", None),
                               action_items=_item_fields(pm), new_item=_fields("new-"))
        action = request.form.get("action", "save")
        if action == "add_item":
            flash("Postmortem saved and action item added." if request.form.get("new-title", "").strip()
                  else "Postmortem saved. Give the action item a title to add it.",
                  "success" if request.form.get("new-title", "").strip() else "error")
            return redirect(url_for("admin.postmortem", public_id=public_id) + "#action-items", 303)
        if action == "publish":
            pm_svc.publish_postmortem(pm, actor=actor, notify_subscribers=bool(request.form.get("notify")))
            flash("Postmortem published.", "success")
        elif action == "unpublish":
            pm_svc.unpublish_postmortem(pm, actor=actor)
            flash("Postmortem taken off the public page.", "success")
        else:
            flash("Postmortem saved.", "success")
    except IncidentError as exc:
        flash(form_error(exc, POSTMORTEM_LABELS), "error")
    return redirect(url_for("admin.postmortem", public_id=public_id), 303)


ITEM_FIELDS = ("title", "owner", "due_date", "status", "link")
POSTMORTEM_LABELS = {"title": "Action item", "owner": "Owner", "due_date": "Due", "link": "Link",
                     "cause_category": "Cause category"}


def _fields(prefix: str) -> dict[str, str] | None:
    values = {k: request.form[prefix + k] for k in ITEM_FIELDS if prefix + k in request.form}
    return values or None


def _item_fields(pm: Postmortem) -> dict[int, dict[str, str]]:
    """Edits of the existing action items, from ``item-<id>-<field>`` inputs of the editor's one form."""
    out = {}
    for item in pm.action_items:
        values = _fields(f"item-{item.id}-")
        if values:
            out[item.id] = values
    return out


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
        flash(form_error(exc, POSTMORTEM_LABELS), "error")
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
        flash(form_error(exc, POSTMORTEM_LABELS), "error")
    else:
        flash("Action item saved.", "success")
    return redirect(url_for("admin.postmortem", public_id=public_id) + "#action-items", 303)
