"""Integer query parameters of console and public pages: ASCII digits only, within bounds.

``int()`` accepts ``"٣"`` and ``"+3"``, and an unbounded page number overflows SQLite's 64-bit
OFFSET (an ``OverflowError``, a 500). Pages ask here instead. (The /api/v1 endpoints answer 400 for
the same input through the API toolkit.)
"""

from __future__ import annotations

from flask import Flask, request

from .api.toolkit import error_response

MAX_PAGE = 10_000
MAX_API_VALUE = 200  # characters in one /api/v1 query value (the OpenAPI document says so too)


def ascii_int(raw: str | None) -> int | None:
    """The value of ``raw`` if it is 1-9 ASCII digits, else None (so never huge, never "²" or "٣")."""
    if raw is None or not (0 < len(raw) <= 9) or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter: malformed → ``default``, out of range → the nearest bound."""
    value = ascii_int(request.args.get(name))
    if value is None:
        return default
    return min(max(value, lo), hi)


def page_number(name: str = "page") -> int:
    """A console list's page: 1 to MAX_PAGE (past the last page is simply empty)."""
    return int_arg(name, 1, 1, MAX_PAGE)


def init_query_bounds(app: Flask) -> None:
    """Refuse /api/v1 query values longer than MAX_API_VALUE or holding control characters (400, JSON).

    Long query strings otherwise end in a text/html 414 from the HTTP server in front, outside the API's
    error shape; the OpenAPI document bounds every query value the same way.
    """

    @app.before_request
    def _bounded_api_query():
        if not request.path.startswith("/api/v1/"):
            return None
        bad = {k[:100]: f"at most {MAX_API_VALUE} characters, no control characters"
               for k, values in request.args.lists() for v in values
               if len(v) > MAX_API_VALUE or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in v)}
        if bad:
            return error_response(400, "invalid_request", "query values are at most 200 characters of text", bad)
        return None
