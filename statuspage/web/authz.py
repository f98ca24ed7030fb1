"""Authentication and authorization for the console (sessions) and the management API (tokens).

Roles, from most to least power: admin (everything, users, tokens, audit log), responder (incidents,
maintenance, postmortems, checks), account_manager (accounts, outreach, SLA reports; reads the rest),
viewer (reads only). Every console and API view declares what it needs with one of these decorators.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Flask, abort, g, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from ..services.audit import Actor
from ..services.page import public_base_url
from ..services.users import find_token, note_token_use
from .api.toolkit import ApiError

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

        wrapped.required_roles = tuple(sorted(allowed))  # read by the route walker, like write_roles below
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


def bearer_token() -> str | None:
    """The token of ``Authorization: Bearer <token>`` or ``OAuth <token>`` (Statuspage's scheme)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    # Statuspage's own API uses "OAuth <key>"; teams moving from it keep their scripts.
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


def use_token(token) -> Actor:
    """Make a valid API token the actor of this request (its use noted by the service, throttled)."""
    note_token_use(token)
    g.api_token = token
    g.actor = Actor(type="token", id=token.id, label=f"token:{token.name}", ip=request.remote_addr,
                    role="admin" if token.scope == "write" else "viewer")
    return g.actor


def api_auth(scope: str = "read", roles: tuple[str, ...] | None = None):
    """API views: a bearer token (scope read|write) or a logged-in console user with a suitable role.

    Read needs any valid token or user; write needs a write token or a user whose role may change the
    resource (`roles`, default admin and responder) — and, for a console session, the CSRF token in
    ``X-CSRFToken``. Refusals are raised as ``ApiError`` (401/403), rendered by the API's blueprint.
    """
    write_roles = set(roles or ("responder",)) | {"admin"}

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            plaintext = bearer_token()
            if plaintext is not None:
                token = find_token(plaintext)
                if token is None:
                    raise ApiError(401, "unauthorized", "invalid or revoked API token")
                if scope == "write" and token.scope != "write":
                    raise ApiError(403, "forbidden", "this token has read scope; write scope is required")
                use_token(token)
                return view(*args, **kwargs)
            if current_user.is_authenticated:
                if request.method not in SAFE_METHODS:
                    session_write_refused()  # a session cookie rides along on any request; a token does not
                if scope == "write" and current_user.role not in write_roles:
                    raise ApiError(403, "forbidden", f"role {current_user.role} cannot change this")
                g.actor = actor_for_user()
                return view(*args, **kwargs)
            raise ApiError(401, "unauthorized", "authentication required: Authorization: Bearer <token>",
                           headers={"WWW-Authenticate": 'Bearer realm="statuspage"'})

        # Read by the route walker (tests/incidents/test_every_route_is_guarded.py): who may write here.
        wrapped.write_roles = tuple(sorted(write_roles)) if scope == "write" else None
        return wrapped

    return decorator


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_HEADERS = ("X-CSRFToken", "X-CSRF-Token")


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin_request() -> bool:
    """Whether ``Origin`` (or, without it, ``Referer``) names this site: the host the request came to,
    or the public URL."""
    claimed = request.headers.get("Origin")
    origin = _origin_of(claimed) if claimed and claimed != "null" else _origin_of(request.headers.get("Referer"))
    if origin is None:
        return False
    ours = {_origin_of(request.host_url), _origin_of(public_base_url(request.host_url))}
    return origin in ours


def session_write_refused() -> None:
    """A cookie-authenticated write to the API needs the CSRF header and a same-origin Origin/Referer.

    A browser attaches the session cookie to any request another site makes it send — a form post
    with an empty body and a text/plain or form type needs no CORS preflight — so the cookie alone
    proves nothing (a form field ``csrf_token`` is not enough either: only the header counts here).
    Token clients (``Authorization``) are not affected. Raises ApiError 403 ``forbidden``.
    """
    token = next((request.headers[h] for h in CSRF_HEADERS if request.headers.get(h)), None)
    try:
        validate_csrf(token)
    except ValidationError:
        raise ApiError(403, "forbidden", "a console session writing through the API must send the X-CSRFToken "
                       "header (the token of the console page)", {"X-CSRFToken": "missing or wrong"}) from None
    if not same_origin_request():
        raise ApiError(403, "forbidden", "a console session may write through the API only from this site",
                       {"Origin": "not this site (nor is the Referer)"})


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


def init_app(app: Flask) -> None:
    """Who is asking is worked out per request, never carried over."""

    @app.before_request
    def _fresh_identity():
        # `g` outlives a request when an app context is already pushed (tests, CLI); who is asking
        # (the actor, the token, Flask-Login's cached user) never does.
        for key in ("actor", "api_token", "_login_user"):
            g.pop(key, None)
