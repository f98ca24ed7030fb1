"""Public subscription pages: subscribe (double opt-in), confirm, manage, unsubscribe (RFC 8058).

Links in mail never change anything on GET: mail security scanners (Safe Links, Proofpoint…) open
every link in a message, so confirming or unsubscribing on GET would let a scanner subscribe someone
who never asked, or unsubscribe someone who did. GET shows a page with one button; the POST acts.
The one-click unsubscribe POST (RFC 8058) carries no CSRF token: the signed token in its URL is the
proof, and mailbox providers send it without cookies.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from ..extensions import csrf, db, limiter
from ..services.notifications import subscriptions as subscriptions_svc
from ..services.notifications import tokens
from ..services.page import get_page
from ..services.site.public import grouped, public_components

bp = Blueprint("subscribe", __name__)

ACCEPTED_MESSAGE = ("If that address can receive email, a message is on its way. Open the link in it "
                    "to confirm (check your spam folder if it does not arrive within a few minutes).")


def _rate_limit() -> str:
    return current_app.extensions["statuspage.settings"].subscribe_rate_limit


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _form_page(status: int = 200, *, errors: dict | None = None, email: str = "", chosen=()):
    return render_template("public/subscribe.html", page=get_page(), groups=grouped(public_components()),
                           errors=errors or {}, email=email, chosen=set(chosen)), status


@bp.get("/subscribe")
def subscribe_form():
    return _form_page()


@bp.post("/subscribe")
@csrf.exempt
@limiter.limit(_rate_limit, methods=["POST"])
def subscribe():
    if request.is_json:
        # A JSON body cannot be sent cross-site without a CORS preflight, so it needs no CSRF token.
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return _json_error(400, "invalid_json", "expected a JSON object", {})
        email_addr = data.get("email")
        components = data.get("components", data.get("component")) or []
        if isinstance(components, str):
            components = [components]
        if not isinstance(email_addr, str | type(None)) or not isinstance(components, list):
            return _json_error(400, "invalid", "email must be a string and components a list of slugs", {})
    else:
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
        email_addr = request.form.get("email")
        components = request.form.getlist("component")
    try:
        subscriptions_svc.request_subscription(email_addr, [str(c) for c in components], ip=request.remote_addr)
    except subscriptions_svc.SubscriptionError as exc:
        db.session.rollback()
        if request.is_json:
            return _json_error(400, "invalid", str(exc), {exc.field or "email": str(exc)})
        return _form_page(400, errors={exc.field or "email": str(exc)}, email=email_addr or "",
                          chosen=components)
    # The same answer whether the address is new, pending, subscribed or unsubscribed.
    if request.is_json or _wants_json():
        return jsonify(status="accepted", message=ACCEPTED_MESSAGE), 202
    return render_template("public/subscribe_done.html", page=get_page(), email=email_addr,
                           message=ACCEPTED_MESSAGE), 200


def _json_error(status: int, code: str, message: str, fields: dict):
    resp = jsonify({"error": {"code": code, "message": message, "fields": fields}})
    resp.status_code = status
    return resp


CANCELLED = tokens.TokenError("This subscription was cancelled after this link was sent. To subscribe again, "
                              "use the form on the status page.")


def _load(token: str, purpose: str):
    try:
        return tokens.load_token(token, purpose), None
    except tokens.TokenError as exc:
        return None, exc


def _bad_link(exc: tokens.TokenError):
    return render_template("public/subscribe_link_invalid.html", page=get_page(), error=exc), 400


# --- confirm ---------------------------------------------------------------------------------------------


@bp.get("/subscribe/confirm/<token>")
def confirm_page(token: str):
    subscriber, exc = _load(token, "confirm")
    if exc:
        return _bad_link(exc)
    if subscriber.unsubscribed_at is not None:
        return _bad_link(CANCELLED)
    if subscriber.state == "active":  # a link used before: say so instead of asking again
        return _confirmed(subscriber, already=True)
    return render_template("public/subscribe_confirm.html", page=get_page(), subscriber=subscriber, token=token,
                           components=subscriptions_svc.component_names(subscriber))


@bp.post("/subscribe/confirm/<token>")
def confirm(token: str):
    subscriber, exc = _load(token, "confirm")
    if exc:
        return _bad_link(exc)
    outcome = subscriptions_svc.confirm(subscriber)
    if outcome == "cancelled":
        return _bad_link(CANCELLED)
    return _confirmed(subscriber, already=outcome == "already")


def _confirmed(subscriber, *, already: bool):
    return render_template("public/subscribe_confirmed.html", page=get_page(), subscriber=subscriber,
                           manage_url=tokens.subscriber_link(subscriber, "manage"), already=already,
                           components=subscriptions_svc.component_names(subscriber))


# --- manage -------------------------------------------------------------------------------------------------


@bp.get("/subscribe/manage/<token>")
def manage_page(token: str):
    subscriber, exc = _load(token, "manage")
    if exc:
        return _bad_link(exc)
    return _manage(subscriber, token)


def _manage(subscriber, token: str, *, saved: str | None = None, errors: dict | None = None, status: int = 200):
    chosen = set(subscriptions_svc.component_slugs(subscriber))
    return render_template("public/subscribe_manage.html", page=get_page(), subscriber=subscriber, token=token,
                           state=subscriber.state, groups=grouped(public_components()),
                           chosen=chosen, saved=saved, errors=errors or {}), status


@bp.post("/subscribe/manage/<token>")
def manage(token: str):
    subscriber, exc = _load(token, "manage")
    if exc:
        return _bad_link(exc)
    action = request.form.get("action", "save")
    if action == "unsubscribe":
        subscriptions_svc.unsubscribe(subscriber, reason="preferences page")
        return _manage(subscriber, token, saved="You are unsubscribed. You will get no more updates.")
    if action == "resubscribe":
        # The manage link went to this address: owning it is the confirmation.
        subscriptions_svc.resubscribe(subscriber)
        return _manage(subscriber, token, saved="Welcome back: you are subscribed again.")
    if action != "save":
        abort(400)
    scope = request.form.get("scope", "all")
    keys = request.form.getlist("component") if scope == "some" else []
    if scope == "some" and not keys:
        return _manage(subscriber, token, errors={"component": "Choose at least one component, or choose "
                                                               "“Everything”."}, status=400)
    try:
        subscriptions_svc.update_components(subscriber, keys)
    except subscriptions_svc.SubscriptionError as exc:
        db.session.rollback()
        return _manage(subscriber, token, errors={"component": str(exc)}, status=400)
    return _manage(subscriber, token, saved="Your preferences are saved.")


# --- unsubscribe ----------------------------------------------------------------------------------------


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    subscriber, exc = _load(token, "unsubscribe")
    if exc:
        return _bad_link(exc)
    return render_template("public/unsubscribe.html", page=get_page(), subscriber=subscriber, token=token,
                           done=subscriber.unsubscribed_at is not None)


@bp.post("/unsubscribe/<token>")
@csrf.exempt
def unsubscribe(token: str):
    """RFC 8058 one-click (body ``List-Unsubscribe=One-Click``) and the button of the GET page."""
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    subscriber, exc = _load(token, "unsubscribe")
    if exc:
        if one_click:
            return jsonify(status="invalid", message=str(exc)), 400
        return _bad_link(exc)
    subscriptions_svc.unsubscribe(subscriber, reason="one-click" if one_click else "link")
    if one_click:
        return jsonify(status="unsubscribed"), 200
    manage = tokens.subscriber_link(subscriber, "manage")
    return render_template("public/unsubscribe.html", page=get_page(), subscriber=subscriber, token=token,
                           done=True, manage_url=manage)
