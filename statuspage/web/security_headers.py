"""Security headers on every response, the WSGI fast path's included.

* ``Content-Security-Policy`` with no inline script or style anywhere (the templates have none; the
  one bit of behaviour, selecting a token field on focus, is ``static/console.js``): only this origin's
  scripts, styles, images, forms and fetches; no plugins, no ``<base>``.
* Framing: the public site (trust page, history, incidents, components, feeds, badges, ``/api/v2``)
  may be embedded anywhere; everything else — the console, sign-in, the private account view, the
  subscription links — answers ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``.
* ``X-Content-Type-Options: nosniff`` everywhere; ``Referrer-Policy: no-referrer`` on pages whose URL
  holds a secret (private views, mail links) and the console, ``strict-origin-when-cross-origin`` on
  the public site.
* ``Cache-Control: no-store`` on console and private responses that set no caching of their own.
* ``Strict-Transport-Security`` when the request came over https.
"""

from __future__ import annotations

from flask import Flask, Response, request

_CSP_BASE = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
             "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")

# The public, read-only site: may be framed, sends the origin as referrer.
PUBLIC_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", _CSP_BASE + "; frame-ancestors *"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)
# Everything else.
PRIVATE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", _CSP_BASE + "; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
PUBLIC_BLUEPRINTS = frozenset({"public", "feeds", "api_v2", "health", "static"})
HSTS = ("Strict-Transport-Security", "max-age=15552000")


def headers_for(blueprint: str | None, endpoint: str | None) -> tuple[tuple[str, str], ...]:
    """The security headers of a response from ``blueprint`` (None: no route matched)."""
    if blueprint in PUBLIC_BLUEPRINTS or endpoint == "static":
        return PUBLIC_HEADERS
    return PRIVATE_HEADERS


def init_security_headers(app: Flask) -> None:
    """Add the headers to every response Flask makes (web/fast_public.py adds PUBLIC_HEADERS itself)."""

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        chosen = headers_for(request.blueprint, request.endpoint)
        for name, value in chosen:
            resp.headers.setdefault(name, value)
        if chosen is PRIVATE_HEADERS and "Cache-Control" not in resp.headers:
            resp.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            resp.headers.setdefault(*HSTS)
        return resp
