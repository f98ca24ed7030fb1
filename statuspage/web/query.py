"""Integer query parameters of console and public pages: ASCII digits only, within bounds.

``int()`` accepts ``"٣"`` and ``"+3"``, and an unbounded page number overflows SQLite's 64-bit
OFFSET (an ``OverflowError``, a 500). Pages ask here instead. (The /api/v1 endpoints answer 400 for
the same input: they have their own parsing.)
"""

from __future__ import annotations

from flask import request

MAX_PAGE = 10_000


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
