"""The first run: a one-time setup link (printed by `statuspage run`) creates the first admin.

Like Grafana's and Uptime Kuma's first-run page, but behind a signed link rather than open to whoever
finds the server first. The link answers 404 once any admin exists, or when it is not this instance's.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import login_user

from ..services.page import get_page
from ..services.users import MIN_PASSWORD, UserError, admin_exists, create_first_admin, setup_token_valid

bp = Blueprint("setup", __name__)


@bp.app_context_processor
def _first_run() -> dict:
    # A function, not a value: only the login page calls it (one indexed read), no other page pays.
    return {"no_admin_yet": lambda: not admin_exists()}


@bp.route("/setup/<token>", methods=["GET", "POST"])
def first_admin(token: str):
    if len(token) > 200 or not setup_token_valid(token):
        abort(404)
    form = {"email": "", "name": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {"email": request.form.get("email", "").strip(), "name": request.form.get("name", "").strip()}
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            errors["confirm"] = "The passwords differ."
        else:
            try:
                user = create_first_admin(form["email"], password, name=form["name"] or None,
                                          ip=request.remote_addr)
            except UserError as exc:
                errors[exc.field or "email"] = str(exc)[:1].upper() + str(exc)[1:] + "."
            else:
                session.clear()
                g.pop("csrf_token", None)
                login_user(user)
                flash(f"Welcome, {user.email}: you are the first admin. This setup link no longer works.",
                      "success")
                return redirect(url_for("admin.dashboard"), 303)
    status = 400 if errors else 200
    return render_template("auth/setup.html", page=get_page(), form=form, errors=errors,
                           min_password=MIN_PASSWORD), status
