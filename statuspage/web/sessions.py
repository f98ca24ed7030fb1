"""The session cookie: ``Secure`` whenever the effective public URL is https.

The public URL comes from ``STATUSPAGE_PUBLIC_URL`` or, when that is unset, from the config file's
``page.url`` (stored in the database, changeable by ``config apply`` without a restart), so the flag
is decided when a cookie is written rather than once at start-up. ``STATUSPAGE_SECURE_COOKIES``
overrides both.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from ..extensions import db
from ..models import Page


def cookies_secure(app: Flask) -> bool:
    """Whether cookies written now carry ``Secure``."""
    decided = app.extensions["statuspage.settings"].session_cookie_secure
    if decided is not None:
        return decided
    url = db.session.scalar(select(Page.url).where(Page.id == 1))
    return bool(url) and url.strip().lower().startswith("https://")


class PublicURLSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions with the ``Secure`` flag from ``cookies_secure``."""

    def get_cookie_secure(self, app: Flask) -> bool:  # type: ignore[override]
        return cookies_secure(app)


def init_sessions(app: Flask) -> None:
    """Use the session interface above (Flask-Login's remember cookie is never set: no "remember me")."""
    app.session_interface = PublicURLSessionInterface()
