"""JSON request bodies within bounds: every JSON body the app reads is parsed here.

* Nesting deeper than ``MAX_DEPTH`` is refused before parsing (Python's parser recurses: a body of
  100,000 ``[`` was a ``RecursionError``, a 500, even on the unauthenticated ``POST /subscribe``).
* Strings (keys included) holding lone surrogates (``"\\ud800"``) are refused: they are not
  characters, no database or response can encode them.
* ``NaN``, ``Infinity`` and numbers too large for a float (``1e400``) are refused: they are not JSON.
* The size is bounded by ``MAX_CONTENT_LENGTH`` (413) before any of this.

A refused body is "not valid JSON" to every caller (``request.get_json(silent=True)`` gives None).
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 64


class InvalidJSON(ValueError):
    """A body that is not JSON we accept; the message says why, ``path`` which field (when one is to blame)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


def _depth_within(text: str, limit: int) -> bool:
    """Whether brackets nest at most ``limit`` deep (strings skipped), in one linear scan."""
    if text.count("[") + text.count("{") <= limit:
        return True  # the common case, decided at C speed
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _refuse_constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJSON(f"the number {text[:40]} is too large")
    return value


def _safe(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _check_strings(value: Any) -> None:
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidJSON("a string holds a lone surrogate (\\ud800-\\udfff), which is not a character",
                                  path or None) from None
        elif isinstance(item, dict):
            for key, member in item.items():
                stack.append((key, path))  # a bad key: the object holding it is to blame
                stack.append((member, f"{path}.{_safe(key)}" if path else _safe(key)))
        elif isinstance(item, list):
            stack.extend((member, f"{path}[{i}]") for i, member in enumerate(item))


def loads_bounded(data: str | bytes) -> Any:
    """``json.loads`` with the bounds above; InvalidJSON (a ValueError) when they are not met."""
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJSON("the body is not UTF-8") from None
    if not _depth_within(data, MAX_DEPTH):
        raise InvalidJSON(f"the body nests deeper than {MAX_DEPTH} levels")
    value = json.loads(data, parse_constant=_refuse_constant, parse_float=_float)
    _check_strings(value)
    return value


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, reading with ``loads_bounded`` (what ``request.get_json`` uses)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_bounded(s)


def init_json(app: Flask) -> None:
    """Make every ``request.get_json`` go through the bounds."""
    app.json_provider_class = BoundedJSONProvider
    app.json = BoundedJSONProvider(app)
