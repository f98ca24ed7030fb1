"""Console page for probe locations (/admin/locations): each location's freshness, lag, agent and buffer,
and — for admins — a probe token for a location, shown once (like /admin/tokens)."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import select

from ...db import utcnow
from ...extensions import db
from ...models import ApiToken
from ...services.monitoring.location_report import location_summaries
from ...services.users import UserError, create_token
from ..authz import EVERYONE, current_actor, require_role
from .blueprint import bp, form_error

PROBE_TOKEN_LABELS = {"name": "Token name", "location": "Location", "scope": "Scope"}


def _render(status: int = 200, **extra):
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.scope == "probe")
                                .order_by(ApiToken.created_at.desc())).all()
    context = {"locations": location_summaries(utcnow()), "tokens": tokens, "plaintext": None, "new_token": None,
               "form": {"name": "", "location": ""}, "form_error": None, "error_field": None, **extra}
    headers = {"Cache-Control": "no-store"} if context["plaintext"] else {}
    return render_template("admin/locations.html", **context), status, headers


@bp.get("/locations")
@require_role(*EVERYONE)
def locations():
    return _render()


@bp.post("/locations/tokens")
@require_role("admin")
def location_token_create():
    form = {"name": request.form.get("name", ""), "location": request.form.get("location", "")}
    name = form["name"].strip() or (f"probe agent {form['location'].strip()}" if form["location"].strip() else "")
    try:
        token, plaintext = create_token(name, "probe", location=form["location"], actor=current_actor(),
                                        created_by_id=current_user.id)
    except UserError as exc:
        db.session.rollback()
        # Re-rendered (not redirected) so the form keeps what was typed, with the error next to it.
        return _render(422, form=form, form_error=form_error(exc, PROBE_TOKEN_LABELS), error_field=exc.field)
    # Rendered, not redirected: the plaintext exists only in this one response.
    return _render(plaintext=plaintext, new_token=token)
