"""Request bodies of the Statuspage-compatible API: JSON or form-encoded, Rails style.

Statuspage takes the same fields as JSON (``{"incident": {"name": …}}``) or form-encoded with
bracketed names (``incident[name]=…``, ``incident[components][ID]=major_outage``,
``incident[component_ids][]=ID``). Both become the same nested dict here; :class:`Fields` then reads
one envelope with typed getters. Form values arrive as text, so the getters also take "true"/"1",
"42" and "null" where JSON would carry a boolean, a number or null. Fields that Statuspage documents
but we have no use for (tweets, metadata) are accepted and ignored; anything else is refused, so a
typo never silently does nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict

from .core import StatuspageError

MAX_KEYS = 2_000
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_form(form: MultiDict) -> dict[str, Any]:
    """``a[b][c]=v`` → {"a": {"b": {"c": "v"}}}; ``a[b][]=v`` appends to a list."""
    out: dict[str, Any] = {}
    if len(form) > MAX_KEYS:
        raise StatuspageError(400, "too many form fields")
    for key, value in form.items(multi=True):
        match = _KEY.match(key)
        if match is None:
            raise StatuspageError(400, f"malformed form field name {key[:100]!r}")
        parts = [match.group(1)] + re.findall(r"\[([^\[\]]*)\]", match.group(2))
        node: dict[str, Any] = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                raise StatuspageError(400, f"malformed form field name {key[:100]!r}")
            if not last and parts[i + 1] == "":
                if i + 2 != len(parts):
                    raise StatuspageError(400, f"form field {key[:100]!r}: a list holds only values")
                existing = node.setdefault(part, [])
                if not isinstance(existing, list):
                    raise StatuspageError(400, f"form field {key[:100]!r} is both a list and a value")
                existing.append(value)
                break
            if last:
                if part in node and isinstance(node[part], dict | list):
                    raise StatuspageError(400, f"form field {key[:100]!r} is both an object and a value")
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise StatuspageError(400, f"form field {key[:100]!r} is both an object and a value")
                node = child
    return out


def request_body() -> dict[str, Any]:
    """The request body as a nested dict (an empty body is an empty dict)."""
    raw = request.get_data(cache=True)
    mimetype = request.mimetype or ""
    if mimetype == "application/json" or mimetype.endswith("+json"):
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise StatuspageError(400, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise StatuspageError(400, "the body must be a JSON object")
        return data
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return parse_form(request.form)
    if not raw:
        return {}
    raise StatuspageError(415)


class Fields:
    """Typed reads of one (possibly nested) object of a request body, with Statuspage's field names."""

    def __init__(self, data: Mapping[str, Any], prefix: str, *, known: Iterable[str] = (),
                 ignored: Iterable[str] = ()):
        self.data = data
        self.prefix = prefix
        unknown = set(data) - set(known) - set(ignored)
        if unknown:
            raise StatuspageError(400, f"unknown field {self.name(sorted(unknown)[0][:100])}")

    @classmethod
    def envelope(cls, body: Mapping[str, Any], name: str, *, known: Iterable[str] = (),
                 ignored: Iterable[str] = (), required: bool = True, siblings: Iterable[str] = ()) -> Fields:
        """``body[name]`` (e.g. the ``incident`` of ``{"incident": {...}}``)."""
        extra = set(body) - {name} - set(siblings)
        if extra:
            raise StatuspageError(400, f"unknown field {sorted(extra)[0][:100]}")
        inner = body.get(name)
        if inner is None:
            if required:
                raise StatuspageError(400, f"the body must hold {name}[...] fields")
            inner = {}
        if not isinstance(inner, Mapping):
            raise StatuspageError(400, f"{name} must be an object")
        return cls(inner, name, known=known, ignored=ignored)

    def name(self, key: str) -> str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def has(self, key: str) -> bool:
        return key in self.data

    def _value(self, key: str, nullable: bool) -> Any:
        value = self.data.get(key)
        if nullable and value in ("null", ""):
            return None
        return value

    def text(self, key: str, *, max_len: int, required: bool = False, nullable: bool = True) -> str | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise StatuspageError(422, f"{self.name(key)} can't be blank")
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise StatuspageError(422, f"{self.name(key)} must be text")
        if required and not value.strip():
            raise StatuspageError(422, f"{self.name(key)} can't be blank")
        if len(value) > max_len:
            raise StatuspageError(422, f"{self.name(key)} is too long (at most {max_len} characters)")
        return value

    def boolean(self, key: str) -> bool | None:
        value = self._value(key, True)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise StatuspageError(422, f"{self.name(key)} must be true or false")

    def integer(self, key: str, lo: int, hi: int) -> int | None:
        value = self._value(key, True)
        if value is None:
            return None
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise StatuspageError(422, f"{self.name(key)} must be a whole number from {lo} to {hi}")
        return value

    def time(self, key: str, *, required: bool = False) -> dt.datetime | None:
        value = self._value(key, True)
        if value is None:
            if required:
                raise StatuspageError(422, f"{self.name(key)} can't be blank")
            return None
        parsed = parse_time(value)
        if parsed is None:
            raise StatuspageError(422, f"{self.name(key)} must be an ISO 8601 date-time with a UTC offset")
        return parsed

    def date(self, key: str) -> dt.date | None:
        value = self._value(key, True)
        if value is None:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            parsed = dt.date.fromisoformat(value[:10])
        except ValueError:
            raise StatuspageError(422, f"{self.name(key)} must be a date like 2026-03-01") from None
        if not dt.date(1970, 1, 1) <= parsed <= dt.date(9000, 1, 1):
            raise StatuspageError(422, f"{self.name(key)} is out of range")
        return parsed

    def id_list(self, key: str, *, limit: int = 500) -> list[str] | None:
        """A list of ids (a JSON array, ``key[]=…`` form fields or, leniently, one id)."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value] if value else []
        if isinstance(value, Mapping):  # key[0]=a&key[1]=b, as some form encoders write lists
            value = list(value.values())
        if not isinstance(value, list) or len(value) > limit or not all(
                isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) <= 100 for v in value):
            raise StatuspageError(422, f"{self.name(key)} must be a list of ids")
        return [str(v) for v in value]

    def status_map(self, key: str, statuses: Iterable[str]) -> dict[str, str] | None:
        """``{component id: status}``; an empty status means "affected, status unchanged"."""
        value = self.data.get(key)
        if value is None:
            return None
        allowed = set(statuses) | {""}
        if not isinstance(value, Mapping) or len(value) > 500:
            raise StatuspageError(422, f"{self.name(key)} must map component ids to statuses")
        out = {}
        for cid, status in value.items():
            if not isinstance(status, str) or status not in allowed or len(str(cid)) > 100:
                raise StatuspageError(422, f"{self.name(key)}[{str(cid)[:100]}] must be one of "
                                           f"{', '.join(sorted(allowed - {''}))}")
            out[str(cid)] = status
        return out


def parse_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 date-time with an offset (``Z`` included) as aware UTC, or None if it is not one."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    parsed = parsed.astimezone(dt.UTC)
    if not dt.datetime(1970, 1, 1, tzinfo=dt.UTC) <= parsed <= dt.datetime(9000, 1, 1, tzinfo=dt.UTC):
        return None
    return parsed
