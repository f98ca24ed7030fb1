"""Authentication and authorization for the console (sessions) and the management API (tokens).

Roles, from most to least power: admin (everything, users, tokens, audit log), responder (incidents,
maintenance, postmortems, checks), account_manager (accounts, outreach, SLA reports; reads the rest),
viewer (reads only). Every console and API view declares what it needs with one of these decorators.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import abort, g, jsonify, redirect, request, url_for
from flask_login import current_user

from ..db import utcnow
from ..extensions import db
from ..services.audit import Actor

ROLE_RANK = {"viewer": 0, "account_manager": 1, "responder": 1, "admin": 2}
EVERYONE = ("admin", "responder", "account_manager", "viewer")


def require_role(*roles: str):
    """Console views: a logged-in user with one of `roles` (admin always passes); else login or 403."""
    allowed = set(roles) | {"admin"}

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = tuple(sorted(allowed))
        return wrapped

    return decorator


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only same-site paths: an open redirect (after login, after a form) is a phishing tool."""
    fallback = default or url_for("admin.dashboard")
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def api_error(status: int, code: str, message: str, fields: dict | None = None):
    """The one JSON error shape of /api/v1: {"error": {"code", "message", "fields"}}."""
    resp = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    resp.status_code = status
    return resp


def bearer_token() -> str | None:
    """The token of ``Authorization: Bearer <token>`` or ``OAuth <token>`` (Statuspage's scheme)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    # Statuspage's own API uses "OAuth <key>"; teams moving from it keep their scripts.
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


def use_token(token) -> Actor:
    """Make a valid API token the actor of this request (and note its use, at most once a minute)."""
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now  # throttled: one write a minute per token
        db.session.commit()
    g.api_token = token
    g.actor = Actor(type="token", id=token.id, label=f"token:{token.name}", ip=request.remote_addr,
                    role="admin" if token.scope == "write" else "viewer")
    return g.actor


def api_auth(scope: str = "read", roles: tuple[str, ...] | None = None):
    """API views: a bearer token (scope read|write) or a logged-in console user with a suitable role.

    Read needs any valid token or user; write needs a write token or a user whose role may change the
    resource (`roles`, default admin and responder).
    """
    write_roles = set(roles or ("responder",)) | {"admin"}

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            from ..services.users import find_token

            plaintext = bearer_token()
            if plaintext is not None:
                token = find_token(plaintext)
                if token is None:
                    return api_error(401, "unauthorized", "invalid or revoked API token")
                if scope == "write" and token.scope != "write":
                    return api_error(403, "forbidden", "this token has read scope; write scope is required")
                use_token(token)
                return view(*args, **kwargs)
            if current_user.is_authenticated:
                if scope == "write" and current_user.role not in write_roles:
                    return api_error(403, "forbidden", f"role {current_user.role} cannot change this")
                g.actor = actor_for_user()
                return view(*args, **kwargs)
            resp = api_error(401, "unauthorized", "authentication required: Authorization: Bearer <token>")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="statuspage"'
            return resp

        wrapped.api_scope = scope
        wrapped.write_roles = tuple(sorted(write_roles)) if scope == "write" else None
        return wrapped

    return decorator


def actor_for_user() -> Actor:
    return Actor(type="user", id=current_user.id, label=current_user.email, ip=request.remote_addr,
                 role=current_user.role)


def current_actor() -> Actor:
    """Who is making this request, for the audit log."""
    actor = g.get("actor")
    if actor is not None:
        return actor
    if current_user.is_authenticated:
        return actor_for_user()
    return Actor(type="anonymous", label="anonymous", ip=request.remote_addr, role="viewer")


def refuse_unknown_query(bp, allowed: dict[str, set[str]]) -> None:
    """Answer 400 on query parameters a view does not understand, so a typo is never silently ignored."""

    @bp.before_request
    def _known_query_parameters():
        view = (request.endpoint or "").rpartition(".")[2]
        unknown = set(request.args) - allowed.get(view, set())
        if unknown:
            return api_error(400, "invalid_request", "unknown query parameters",
                             {k[:100]: "unknown parameter" for k in sorted(unknown)})
        return None
