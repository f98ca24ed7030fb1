"""Error pages in the product's own look: 404, 405, 410, 500… on the public site and in the console.

The API answers its errors in JSON (its own handler); everything else comes here. A 500 page must
render even when the database is what failed, so it reads nothing it cannot do without.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

from flask import render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..services.page import get_page

log = logging.getLogger("statuspage.web")

CONSOLE_PREFIXES = ("/admin", "/login", "/logout", "/account/", "/setup")

TITLES = {
    400: ("Bad request", "The request could not be understood. Go back and try again."),
    403: ("Not allowed", "Your role does not allow this page. Ask an admin if you need it."),
    404: ("Page not found", "There is nothing at this address. It may have moved, or the link may be mistyped."),
    405: ("Not allowed here", "This address does not accept that kind of request."),
    410: ("This link is gone", "The link was withdrawn or has expired. Ask for a new one."),
    413: ("Too large", "What was sent is larger than this page accepts."),
    429: ("Too many requests", "Please wait a minute and try again."),
    500: ("Something went wrong on our side", "The error was logged. Try again in a moment."),
}


def _page():
    try:
        return get_page()
    except Exception:  # noqa: BLE001 - the database may be what failed; the error page must still render
        db.session.rollback()
        return SimpleNamespace(name="Status", time_zone="UTC", url=None)


def error_page(exc: HTTPException):
    """The HTML answer for an HTTP error outside the API (console pages for console paths)."""
    code = exc.code or 500
    if code >= 500:
        db.session.rollback()
    title, text = TITLES.get(code, (exc.name, exc.description or ""))
    if isinstance(exc, CSRFError):
        title, text = ("This form has expired",
                       "Its security token (CSRF) is missing or out of date. Go back, reload the page and send "
                       "the form again.")
    console = request.path.startswith(CONSOLE_PREFIXES)
    try:
        body = render_template("admin/error.html" if console else "public/error.html", page=_page(), code=code,
                               title=title, text=text)
    except Exception:  # noqa: BLE001 - never fail while reporting a failure
        log.exception("error page %s could not be rendered", code)
        return exc
    response = exc.get_response()
    response.set_data(body)
    response.mimetype = "text/html"
    response.headers["Cache-Control"] = "no-store" if console or code >= 500 else "public, max-age=60"
    return response
