"""Console pages for admins: people, API tokens (plaintext shown once) and the audit log."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ...extensions import db
from ...models import ApiToken, AuditLog, User
from ...models.constants import ROLES
from ...services.page_info import statuspage_api_base
from ...services.users import UserError, create_token, create_user, revoke_token, set_disabled, set_role
from ..authz import current_actor, require_role
from ..query import page_number
from .blueprint import bp, form_error

USER_LABELS = {"email": "Email", "password": "Password", "role": "Role", "name": "Name"}
TOKEN_LABELS = {"name": "Name", "scope": "Scope"}

AUDIT_PER_PAGE = 100


@bp.get("/users")
@require_role("admin")
def users():
    rows = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("admin/users.html", users=rows, roles=ROLES)


@bp.post("/users")
@require_role("admin")
def user_create():
    try:
        create_user(request.form.get("email", ""), request.form.get("role", ""), request.form.get("password", ""),
                    name=request.form.get("name") or None, actor=current_actor())
    except UserError as exc:
        flash(form_error(exc, USER_LABELS), "error")
    else:
        flash("User created.", "success")
    return redirect(url_for("admin.users"), 303)


@bp.post("/users/<int:user_id>")
@require_role("admin")
def user_update(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        if "role" in request.form:
            set_role(user, request.form["role"], actor=current_actor())
        if "disabled" in request.form:
            if user.id == current_user.id and request.form["disabled"] == "1":
                raise UserError("you cannot disable yourself", "disabled")
            set_disabled(user, request.form["disabled"] == "1", actor=current_actor())
    except UserError as exc:
        flash(form_error(exc, USER_LABELS), "error")
    else:
        flash(f"{user.email} updated.", "success")
    return redirect(url_for("admin.users"), 303)


@bp.get("/tokens")
@require_role("admin")
def tokens():
    rows = db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()
    return render_template("admin/tokens.html", tokens=rows, plaintext=None, statuspage_api=statuspage_api_base())


@bp.post("/tokens")
@require_role("admin")
def token_create():
    try:
        token, plaintext = create_token(request.form.get("name", ""), request.form.get("scope", ""),
                                        actor=current_actor(), created_by_id=current_user.id)
    except UserError as exc:
        flash(form_error(exc, TOKEN_LABELS), "error")
        return redirect(url_for("admin.tokens"), 303)
    rows = db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()
    # Rendered (not redirected) so the plaintext exists only in this one response.
    resp = render_template("admin/tokens.html", tokens=rows, plaintext=plaintext, new_token=token,
                           statuspage_api=statuspage_api_base())
    return resp, 200, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
@require_role("admin")
def token_revoke(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None:
        abort(404)
    revoke_token(token, actor=current_actor())
    flash(f"Token {token.name} revoked.", "success")
    # The probe-locations page lists its agents' tokens too and sends people back there.
    back = "admin.locations" if request.form.get("back") == "locations" else "admin.tokens"
    return redirect(url_for(back), 303)


@bp.get("/audit")
@require_role("admin")
def audit():
    page_no = page_number()
    query = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    action = (request.args.get("action") or "").strip()
    if action:
        query = query.where(AuditLog.action.startswith(action))
    rows = db.session.scalars(query.limit(AUDIT_PER_PAGE + 1).offset((page_no - 1) * AUDIT_PER_PAGE)).all()
    entries = [(r, audit_changes(r.before, r.after)) for r in rows[:AUDIT_PER_PAGE]]
    return render_template("admin/audit.html", entries=entries, page_no=page_no,
                           has_next=len(rows) > AUDIT_PER_PAGE, action=action)


AUDIT_VALUE_CHARS = 80


def _flat(record: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(record, dict):
        return {prefix or "value": record} if record is not None else {}
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value and not prefix:
            out.update(_flat(value, name))
        else:
            out[name] = value
    return out


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= AUDIT_VALUE_CHARS else text[:AUDIT_VALUE_CHARS - 1] + "…"


def audit_changes(before: Any, after: Any) -> list[tuple[str, str | None, str | None]]:
    """What an audit entry changed, as (field, old, new) lines a person can read: only fields that
    differ (every field when there is no "before"), nested objects one level deep, long values cut."""
    old, new = _flat(before), _flat(after)
    lines = []
    for key in list(dict.fromkeys([*old, *new])):
        if key in old and key in new and old[key] == new[key]:
            continue
        lines.append((key, _show(old[key]) if key in old else None, _show(new[key]) if key in new else None))
    return lines
