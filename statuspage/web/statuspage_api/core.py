"""The blueprint, authentication, errors and pagination of the Statuspage-compatible management API.

Contract: Atlassian Statuspage's published OpenAPI description of ``https://api.statuspage.io/v1``,
served here under ``/api/statuspage/v1``. Paths work with and without Statuspage's ``.json`` suffix.
Authentication is an API token of ours in ``Authorization: OAuth <token>`` (Statuspage's scheme) or
``Bearer <token>``; read tokens only read. Sessions are not accepted: bodies may be form-encoded, and
a cookie-authenticated form post would be a cross-site request forgery. Errors are Statuspage's
``{"error": "..."}`` (with ``message`` too, the field of its documented ErrorEntity) and its status
codes: 400 bad request, 401 could not authenticate, 403 not authorized, 404 not found, 409 conflict,
415 unsupported body, 422 unprocessable entity. Every state change calls one of our services.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from ...extensions import csrf, db
from ...services.incidents.components import ComponentError
from ...services.incidents.lifecycle import IncidentError
from ...services.notifications.subscriptions import SubscriptionError
from ...services.page import get_page
from ...services.page_info import STATUSPAGE_API_PATH
from ...services.page_settings import PageSettingsError
from ...services.users import find_token
from ..api.toolkit import ApiError, answer_under_prefix
from ..authz import bearer_token, use_token

PREFIX = STATUSPAGE_API_PATH
bp = Blueprint("statuspage_api", __name__, url_prefix=PREFIX)
csrf.exempt(bp)

MESSAGES = {
    400: "Bad request",
    401: "Could not authenticate",
    403: "You are not authorized to access this resource.",
    404: "The requested resource could not be found.",
    405: "Method not allowed.",
    409: "The request could not be processed due to a conflict in resource state.",
    413: "The request body is too large.",
    415: "Send the body as application/json or application/x-www-form-urlencoded.",
    422: "Unprocessable entity",
}


class StatuspageError(Exception):
    """Answer with Statuspage's error body and this status."""

    def __init__(self, status: int, message: str | None = None):
        super().__init__(message or MESSAGES.get(status, "error"))
        self.status = status
        self.message = message or MESSAGES.get(status, "error")


def error_response(status: int, message: str) -> Response:
    resp = jsonify({"error": message, "message": message})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'OAuth realm="statuspage"'
    return resp


def _render_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    message = MESSAGES.get(status) or exc.description or exc.name or "error"
    resp = error_response(status, message)
    allowed = getattr(exc, "valid_methods", None)
    if status == 405 and allowed:
        resp.headers["Allow"] = ", ".join(allowed)
    return resp


def _render_api_error(err: ApiError) -> Response:
    """Errors raised outside our views under this API's prefix (unknown path, wrong method, too large)."""
    resp = error_response(err.status, MESSAGES.get(err.status) or err.message)
    for name, value in err.headers.items():
        resp.headers[name] = value
    return resp


class IdConverter(BaseConverter):
    """Ids never hold a dot, so ``/incidents/abc.json`` is the incident abc (Statuspage's suffix)."""

    regex = r"[^/.]{1,100}"


@bp.record_once
def _setup(state) -> None:
    state.app.url_map.converters["spid"] = IdConverter


@bp.errorhandler(StatuspageError)
def _statuspage_error(exc: StatuspageError):
    db.session.rollback()  # a refused request changes nothing
    return error_response(exc.status, exc.message)


@bp.errorhandler(IncidentError)
@bp.errorhandler(ComponentError)
def _domain_error(exc: IncidentError | ComponentError):
    db.session.rollback()
    if exc.code == "not_found":
        return error_response(404, str(exc))
    return error_response(409 if exc.code == "conflict" else 422, str(exc))


@bp.errorhandler(SubscriptionError)
@bp.errorhandler(PageSettingsError)
def _input_error(exc: ValueError):
    db.session.rollback()
    return error_response(422, str(exc))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    db.session.rollback()
    return _render_http_error(exc)


def route(rule: str, methods: Iterable[str] = ("GET",), *, scope: str = "read",
          query: Iterable[str] = ()) -> Callable:
    """Register a view at ``rule`` and ``rule.json``, behind token auth, refusing unknown query parameters."""
    allowed = frozenset(query)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            plaintext = bearer_token()
            if plaintext is None:
                return error_response(401, "Could not authenticate: send Authorization: OAuth <api key>")
            token = find_token(plaintext)
            if token is None:
                return error_response(401, "Could not authenticate: the API key is unknown or revoked")
            if scope == "write" and token.scope != "write":
                return error_response(403, "You are not authorized to access this resource: "
                                           "this API key may only read")
            unknown = sorted(set(request.args) - allowed)
            if unknown:
                return error_response(400, f"unknown query parameter {unknown[0][:100]!r}")
            page_id = kwargs.pop("page_id", None)
            if page_id is not None and page_id != get_page().public_id:
                return error_response(404, f"no page {page_id!r} here; this page's id is shown by "
                                           "`statuspage page info`")
            use_token(token)
            return view(*args, **kwargs)

        wrapped.api_scope = scope  # type: ignore[attr-defined]
        bp.add_url_rule(rule, view.__name__, wrapped, methods=list(methods))
        bp.add_url_rule(rule + ".json", view.__name__ + "_json", wrapped, methods=list(methods))
        return wrapped

    return decorator


# --- query parameters and pagination ----------------------------------------------------------------


def query_int(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StatuspageError(400, f"{name} must be a whole number") from None
    if not lo <= value <= hi:
        raise StatuspageError(400, f"{name} must be from {lo} to {hi}")
    return value


def query_choice(name: str, choices: Iterable[str], default: str | None = None) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return default
    options = tuple(choices)
    if value not in options:
        raise StatuspageError(400, f"{name} must be one of {', '.join(options)}")
    return value


def paged(query, serialize: Callable[[Any], Any], *, size_param: str = "per_page", default: int = 100,
          maximum: int = 100, first_page: int = 1) -> Response:
    """A JSON array of one page of ``query`` (Statuspage pages by ``page`` and ``per_page``/``limit``)."""
    size = query_int(size_param, default, 1, maximum)
    number = query_int("page", first_page, first_page, 1_000_000)
    rows = db.session.scalars(query.limit(size).offset((number - first_page) * size)).all()
    return jsonify([serialize(row) for row in rows])


def count(query) -> int:
    return int(db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def created(payload: Any) -> Response:
    resp = jsonify(payload)
    resp.status_code = 201
    return resp


def no_content(status: int = 204) -> Response:
    return current_app.response_class(status=status)


answer_under_prefix(bp, _render_api_error)
