"""Sessions for people: login, logout, password change; the user loader."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..extensions import db, limiter, login_manager
from ..models import User
from ..services.page import get_page
from ..services.users import (
    MIN_PASSWORD,
    UserError,
    authenticate,
    change_password,
    record_failed_login,
    record_login,
    record_logout,
)
from .authz import EVERYONE, actor_for_user, require_role, safe_next

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    # The session carries "id:session_version": a password change ends every other session.
    try:
        uid, version = (int(p) for p in user_id.split(":", 1))
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


def _login_limit() -> str:
    return current_app.extensions["statuspage.settings"].login_rate_limit


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_PASSWORD, max=1000)])
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("new_password", "The passwords differ.")])


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            record_failed_login(form.email.data, ip=request.remote_addr)
            flash("Wrong email or password.", "error")
        else:
            session.clear()  # no fixation: a fresh session for the signed-in person
            g.pop("csrf_token", None)  # the cached token belonged to the old session
            login_user(user)
            record_login(user, actor=actor_for_user())
            return redirect(safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
        return render_template("auth/login.html", form=form, page=get_page()), status
    return render_template("auth/login.html", form=form, page=get_page())


@bp.post("/logout")
@require_role(*EVERYONE)
def logout():
    record_logout(current_user._get_current_object(), actor=actor_for_user())
    logout_user()
    session.clear()
    g.pop("csrf_token", None)
    flash("You are signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@require_role(*EVERYONE)
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current_password.data, form.new_password.data,
                            actor=actor_for_user())
        except UserError as exc:
            getattr(form, exc.field or "new_password").errors.append(str(exc))
        else:
            login_user(current_user._get_current_object())  # this session carries the new session version; the others end
            flash("Password changed. Other sessions are signed out.", "success")
            return redirect(url_for("admin.dashboard"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form, page=get_page()), status
