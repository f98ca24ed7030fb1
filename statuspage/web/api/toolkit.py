"""The JSON API toolkit: one way to read a request and one way to refuse it, for every JSON API we serve.

* **Refusals** are :class:`ApiError` (status, one code from :data:`CODES`, message, per-field problems).
  Parsers and views raise it; the blueprint's *renderer* turns it into a response. ``/api/v1`` renders
  ``{"error": {"code", "message", "fields"}}`` (:func:`render_error`); another API (the Statuspage-
  compatible one) installs the same toolkit with its own renderer.
* **Bodies**: :func:`json_body` (a JSON object, optionally inside a Statuspage-style envelope such as
  ``{"incident": {...}}``); fields are read with :class:`RequestFields`, the validator kit of
  ``checks/validation.py`` collecting every problem, then ``done()`` raises one 400 listing them all.
* **Query strings**: a view says which parameters it understands with :func:`accepts_query`; anything
  else is refused (a typo is never silently ignored). :func:`query_fields` reads them.
* **Lists**: :func:`paginate` — ``page``/``per_page`` (``limit``/``offset`` accepted as aliases), the
  ``Link`` (RFC 8288) and ``X-Total-Count`` headers.

:func:`install` wires the query guard and the error handlers onto a blueprint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for
from sqlalchemy import Select, func, select
from werkzeug.exceptions import HTTPException

from checks.validation import ErrorCollector, Fields

from ...extensions import csrf, db
from ..errors import error_page
from ..jsonbody import InvalidJSON, loads_bounded

# The one set of error codes, each with its status. Pick by situation, not by endpoint.
CODES: dict[str, int] = {
    "invalid_request": 400,          # malformed: not JSON, not an object, an unknown or mistyped field or query
    "unauthorized": 401,             # no credentials, or a bad token
    "forbidden": 403,                # a read token, or a role that may not do this
    "not_found": 404,                # no such object (or path)
    "method_not_allowed": 405,
    "conflict": 409,                 # the object's state does not allow this now
    "idempotency_key_in_flight": 409,
    "request_entity_too_large": 413,
    "unsupported_media_type": 415,   # a body that is not Content-Type: application/json
    "validation_failed": 422,        # well-formed input that breaks a rule (an unknown component, a past date)
    "idempotency_key_reused": 422,
    "too_many_requests": 429,
}
# What an HTTP error raised by Flask/Werkzeug is called; the rest use Werkzeug's name ("not_found").
_HTTP_CODES = {400: "invalid_request", 422: "validation_failed"}


class ApiError(Exception):
    """A refusal: ``status``, a ``code`` from :data:`CODES`, a human ``message``, ``fields`` {path: problem}."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields = fields or {}
        self.headers = headers or {}

    @classmethod
    def invalid(cls, message: str, fields: dict[str, str] | None = None) -> ApiError:
        """400 invalid_request: the request is malformed."""
        return cls(400, "invalid_request", message, fields)

    @classmethod
    def not_found(cls, message: str) -> ApiError:
        """404 not_found."""
        return cls(404, "not_found", message)

    @classmethod
    def conflict(cls, message: str, fields: dict[str, str] | None = None) -> ApiError:
        """409 conflict: the object's state does not allow this."""
        return cls(409, "conflict", message, fields)

    @classmethod
    def unprocessable(cls, message: str, fields: dict[str, str] | None = None) -> ApiError:
        """422 validation_failed: well-formed, but it breaks a rule."""
        return cls(422, "validation_failed", message, fields)

    @classmethod
    def from_http(cls, exc: HTTPException) -> ApiError:
        """An HTTP error raised by Flask or Werkzeug (404 routing, 405, a CSRF refusal…)."""
        status = exc.code or 500
        code = _HTTP_CODES.get(status) or (exc.name or "error").lower().replace(" ", "_")
        headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else None
        return cls(status, code, exc.description or exc.name or "error", headers=headers)


Renderer = Callable[[ApiError], Response]


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None) -> Response:
    """The /api/v1 error shape: ``{"error": {"code", "message", "fields"}}`` with ``status``."""
    resp = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    resp.status_code = status
    return resp


def render_error(err: ApiError) -> Response:
    """The /api/v1 renderer."""
    resp = error_response(err.status, err.code, err.message, err.fields)
    resp.headers.update(err.headers)
    return resp


def problems_error(errors: ErrorCollector) -> ApiError:
    """One 400 listing every problem a :class:`RequestFields` (or the validator kit) collected."""
    fields: dict[str, str] = {}
    for path, message in errors.problems:
        fields.setdefault(path[:200] or "body", message)
    return ApiError.invalid("; ".join(f"{path}: {message}" for path, message in fields.items()), fields)


# --- bodies and fields -------------------------------------------------------------------------------


def json_body(envelope: str | None = None, *, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object, or its ``envelope`` member (Statuspage style: ``{"incident": {...}}``).

    ``optional``: an empty body reads as ``{}`` (for actions whose body only carries options).
    Content-Type must be application/json (415 otherwise): besides saying what the body is, a cross-site
    HTML form cannot send that type.
    """
    raw = request.get_data(cache=True)
    if optional and not raw:
        return {}
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
    try:
        data = loads_bounded(raw or b"null")
    except InvalidJSON as exc:
        if exc.path:  # well-formed JSON whose field holds no text (a lone surrogate): that field is at fault
            raise ApiError.unprocessable(f"{exc.path}: {exc}", {exc.path[:200]: str(exc)}) from exc
        raise ApiError.invalid(f"the body is not valid JSON: {exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError.invalid("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ApiError.invalid("the body must be a JSON object")
    if envelope is None:
        return data
    extra = sorted(k for k in data if k != envelope)
    if extra:
        raise ApiError.invalid("unknown fields: " + ", ".join(extra)[:300],
                               {k[:100]: f"unknown field (the body is {{\"{envelope}\": {{...}}}})" for k in extra})
    inner = data.get(envelope)
    if not isinstance(inner, dict):
        raise ApiError.invalid(f"the body must be {{\"{envelope}\": {{...}}}}", {envelope: "required object"})
    return inner


class RequestFields(Fields):
    """The fields of a body (or query string) at ``path``; :meth:`done` raises one 400 listing every problem.

    With ``allowed``, every other field is a problem ("unknown field (did you mean name?)").
    """

    def __init__(self, data: dict[str, Any], path: str = "", *, allowed: Iterable[str] | None = None) -> None:
        super().__init__(data, path, ErrorCollector())
        if allowed is not None:
            self.known(set(allowed), noun="field")

    def done(self) -> None:
        """Raise :class:`ApiError` (400 invalid_request) if anything was wrong."""
        if self.errors:
            raise problems_error(self.errors)


def query_fields() -> RequestFields:
    """The query string, read like a body (every value is text: use ``text_ok`` for numbers)."""
    return RequestFields(request.args.to_dict(flat=True))


# --- query strings -----------------------------------------------------------------------------------

PAGE_PARAMS = ("page", "per_page", "limit", "offset")  # limit/offset: aliases, for clients of the old lists


def accepts_query(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the query parameters a view understands; put it under the route and auth decorators."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        view.query_params = frozenset(names)  # type: ignore[attr-defined]
        return view

    return decorator


def refuse_unknown_query() -> None:
    """Raise 400 for query parameters the matched view did not declare with :func:`accepts_query`."""
    view = current_app.view_functions.get(request.endpoint or "")
    unknown = set(request.args) - getattr(view, "query_params", frozenset())
    if unknown:
        raise ApiError.invalid("unknown query parameters: " + ", ".join(sorted(unknown))[:300],
                               {k[:100]: "unknown parameter" for k in sorted(unknown)})


# --- lists -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paging:
    """How a list pages: ``per_page`` when the client gives none, and at most."""

    default: int = 25
    maximum: int = 100


ARRAYS = Paging(25, 100)       # lists answered as JSON arrays
ENVELOPES = Paging(100, 500)   # lists answered inside an object ({"subscribers": [...]}), as they always were


@dataclass(frozen=True)
class Window:
    """The slice a request asked for; ``aliases``: it was asked with limit/offset."""

    offset: int
    limit: int
    aliases: bool


def page_window(paging: Paging = ARRAYS) -> Window:
    """Read page/per_page (or limit/offset) from the query string; 400 when they are malformed."""
    args = request.args
    if ({"page", "per_page"} & set(args)) and ({"limit", "offset"} & set(args)):
        raise ApiError.invalid("give page/per_page or limit/offset, not both",
                               {k: "conflicts with " + ("limit/offset" if k in ("page", "per_page") else
                                                        "page/per_page") for k in PAGE_PARAMS if k in args})
    q = query_fields()
    if "limit" in args or "offset" in args:
        limit = q.integer("limit", 1, paging.maximum, default=paging.default, text_ok=True)
        offset = q.integer("offset", 0, 10**9, default=0, text_ok=True)
        q.done()
        return Window(offset=offset or 0, limit=limit or paging.default, aliases=True)
    page = q.integer("page", 1, 100_000, default=1, text_ok=True)
    per_page = q.integer("per_page", 1, paging.maximum, default=paging.default, text_ok=True)
    q.done()
    per_page = per_page or paging.default
    return Window(offset=((page or 1) - 1) * per_page, limit=per_page, aliases=False)


@dataclass
class PageOf:
    """One page of a list: its rows, the total over all pages and the window asked for."""

    rows: Sequence[Any]
    total: int
    window: Window

    def headers(self) -> dict[str, str]:
        """``Link`` (first, prev, next, last; in the parameter names the client used) and ``X-Total-Count``."""
        w = self.window
        base = {k: v for k, v in request.args.to_dict(flat=False).items() if k not in PAGE_PARAMS}
        last_offset = max(0, (self.total - 1) // w.limit * w.limit)
        targets = [("first", 0), ("prev", min(max(0, w.offset - w.limit), last_offset) if w.offset > 0 else None),
                   ("next", w.offset + w.limit if w.offset + w.limit < self.total else None),
                   ("last", last_offset)]
        links = []
        for rel, offset in targets:
            if offset is None:
                continue
            paging = ({"limit": w.limit, "offset": offset} if w.aliases
                      else {"page": offset // w.limit + 1, "per_page": w.limit})
            url = url_for(request.endpoint or "", **(request.view_args or {}), **base, **paging)
            links.append(f'<{url}>; rel="{rel}"')
        return {"Link": ", ".join(links), "X-Total-Count": str(self.total)}

    def respond(self, body: Any) -> Response:
        """``body`` (the serialized rows, bare or in an envelope) with the paging headers."""
        resp = jsonify(body)
        resp.headers.update(self.headers())
        return resp


def paginate(query: Select, paging: Paging = ARRAYS) -> PageOf:
    """Run ``query`` (ordered) for the requested window, and count it."""
    window = page_window(paging)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.scalars(query.limit(window.limit).offset(window.offset)).all()
    return PageOf(rows=rows, total=total, window=window)


def paged_array(query: Select, serialize: Callable[[Any], Any], paging: Paging = ARRAYS) -> Response:
    """A list answered as a JSON array of ``serialize(row)``, with the paging headers."""
    page = paginate(query, paging)
    return page.respond([serialize(r) for r in page.rows])


# --- wiring ------------------------------------------------------------------------------------------


def install(bp: Blueprint, render: Renderer = render_error,
            translations: dict[type[Exception], Callable[[Any], ApiError]] | None = None) -> None:
    """Give ``bp`` the query guard and error handlers; ``translations`` turn service errors into ApiErrors.

    Whatever is refused, the request's transaction is rolled back first: a refused request changes nothing.
    ``render`` also answers errors no view raised under the blueprint's URL prefix (an unknown path, a
    wrong method): see :func:`install_api_fallbacks`. Token clients send no CSRF token: the blueprint is
    exempt from the form check, and ``authz.api_auth`` asks a console session's writes for ``X-CSRFToken``.
    """
    csrf.exempt(bp)
    bp.before_request(refuse_unknown_query)

    def handler(convert: Callable[[Any], ApiError]) -> Callable[[Any], Response]:
        def handle(exc: Any) -> Response:
            db.session.rollback()
            return render(convert(exc))

        return handle

    bp.register_error_handler(ApiError, handler(lambda exc: exc))
    bp.register_error_handler(HTTPException, handler(ApiError.from_http))
    for exc_type, convert in (translations or {}).items():
        bp.register_error_handler(exc_type, handler(convert))
    answer_under_prefix(bp, render)


def answer_under_prefix(bp: Blueprint, render: Renderer) -> None:
    """Errors no view raised under ``bp``'s URL prefix (an unknown path, a wrong method) are rendered by
    ``render``: each API answers in its own shape (see :func:`install_api_fallbacks`)."""
    bp.record_once(lambda state: state.app.extensions.setdefault(_RENDERERS, {}).__setitem__(
        state.url_prefix or bp.url_prefix or "/", render))


_RENDERERS = "statuspage.api_renderers"  # app.extensions key: URL prefix → renderer


def _renderer_for(path: str) -> Renderer:
    renderers: dict[str, Renderer] = current_app.extensions.get(_RENDERERS, {})
    prefix = max((p for p in renderers if path == p or path.startswith(p.rstrip("/") + "/")), key=len, default=None)
    return renderers[prefix] if prefix is not None else render_error


def install_api_fallbacks(app: Flask) -> None:
    """Under /api/ every HTTP error is JSON: in the shape of the API whose prefix the path is under (the
    /api/v1 shape elsewhere), paths no route matched included. Elsewhere a page in the product's look
    (``web.errors``)."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not request.path.startswith("/api/"):
            return error_page(exc)
        return _renderer_for(request.path)(ApiError.from_http(exc))

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        db.session.rollback()
        return _renderer_for(request.path)(exc)
