"""The one validator kit: every reader of outside input (the config file, check specs, the API) uses it.

Two layers:

* **Value validators** (``as_text``, ``as_bool``, ``as_int``, ``as_duration``, ``as_choice``, ``as_slug``,
  ``as_url``, ``as_email``, …) take one raw value and return it clean, or raise :class:`ConfigError`
  with a message that says *what* is wrong ("must be between 1 and 100, not 0"), never *where*.
* :class:`Fields` reads one mapping through them and records each problem in an
  :class:`ErrorCollector` under its path (``components[0].checks[1].interval``), so a reader reports
  every problem at once instead of stopping at the first.

Rules every validator keeps: a boolean is never a number; whole numbers written as text are decimal
ASCII digits only (``"²"`` and ``"1_000"`` are refused, not crashed on or misread); a value of ``None``
is "absent", which :class:`Fields` turns into the default or a ``required`` problem.

Pure: no Flask, no database, no ``statuspage`` (tests/checks/test_engine_is_pure.py).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import urlsplit

from checks.durations import format_duration, parse_duration
from checks.errors import ConfigError

__all__ = [
    "ErrorCollector",
    "Fields",
    "as_bool",
    "as_choice",
    "as_date",
    "as_duration",
    "as_email",
    "as_int",
    "as_list",
    "as_mapping",
    "as_number",
    "as_slug",
    "as_text",
    "as_timestamp",
    "as_url",
    "did_you_mean",
    "join_path",
    "kind_of",
]

T = TypeVar("T")

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+")
_WHOLE = re.compile(r"-?[0-9]+")
_MAX_DIGITS = 18  # more digits than any bound we check; int() of 5,000 digits is refused by Python anyway
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


# --- paths and collecting ----------------------------------------------------------------------------


def join_path(path: str, key: Any) -> str:
    """``components[0]`` + ``name`` → ``components[0].name``; an integer key indexes: ``checks[2]``."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class ErrorCollector:
    """Collects ``(path, message)`` problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem at ``path`` ("" for the whole input)."""
        self.problems.append((path, message))

    def check(self, path: str, validator: Callable[..., T], value: Any, *args: Any, **kwargs: Any) -> T | None:
        """``validator(value, …)``; on :class:`ConfigError` record its message at ``path`` and return None."""
        try:
            return validator(value, *args, **kwargs)
        except ConfigError as exc:
            self.add(path, str(exc))
            return None

    @property
    def errors(self) -> list[str]:
        """Every problem as ``"path: message"``, in the order found."""
        return [f"{path}: {message}" if path else message for path, message in self.problems]

    def __len__(self) -> int:
        return len(self.problems)

    def __bool__(self) -> bool:
        return bool(self.problems)


# --- value validators --------------------------------------------------------------------------------


def kind_of(value: Any) -> str:
    """What a value is, in the words of someone who wrote YAML or JSON: "a mapping", "a number"…"""
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean interval?)`` for the closest of ``choices``, or ""."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def as_text(value: Any, *, max_len: int | None = None, allow_empty: bool = True, trim: bool = False) -> str:
    """A string, at most ``max_len`` characters.

    ``trim`` is for text people type into YAML: surrounding blanks go, and a number written where text
    is expected (``tier: 1``) is taken as its text.
    """
    if isinstance(value, bool) or not (isinstance(value, str) or (trim and isinstance(value, int | float))):
        raise ConfigError(f"must be a string, not {kind_of(value)}")
    text = str(value).strip() if trim else value
    if not text and not allow_empty:
        raise ConfigError("must not be empty")
    if max_len is not None and len(text) > max_len:
        raise ConfigError(f"must be at most {max_len} characters")
    return text


def as_bool(value: Any) -> bool:
    """``true`` or ``false``; nothing else (no "yes", no 1)."""
    if not isinstance(value, bool):
        raise ConfigError(f"must be true or false, not {value!r}")
    return value


def as_int(value: Any, lo: int, hi: int, *, text_ok: bool = False) -> int:
    """A whole number in ``[lo, hi]``; with ``text_ok`` also one written in decimal digits (a query string)."""
    if text_ok and isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        digits = value.strip()
        if len(digits.lstrip("-")) > _MAX_DIGITS:
            raise ConfigError(f"must be between {lo} and {hi}")
        value = int(digits)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"must be a whole number, not {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"must be between {lo} and {hi}, not {value}")
    return value


def as_number(value: Any, *, minimum: float | None = None, maximum: float | None = None,
              exclusive_min: bool = False) -> Decimal:
    """A finite decimal number (``120000``, ``"99.95"``, ``"1,000"``), optionally bounded."""
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"expected a number, got {value!r}")
    try:
        number = Decimal(str(value).replace("_", "").replace(",", "").strip())
    except InvalidOperation:
        raise ConfigError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise ConfigError(f"expected a finite number, got {value!r}")
    if minimum is not None and (number < Decimal(str(minimum)) or (exclusive_min and number == Decimal(str(minimum)))):
        raise ConfigError(f"must be {'>' if exclusive_min else '≥'} {minimum}")
    if maximum is not None and number > Decimal(str(maximum)):
        raise ConfigError(f"must be ≤ {maximum}")
    return number


def as_duration(value: Any, *, minimum: float | None = None, maximum: float | None = None) -> float:
    """Seconds from ``30``, ``"500ms"``, ``"1h30m"`` (see :func:`checks.durations.parse_duration`), bounded."""
    seconds = parse_duration(value)
    if minimum is not None and seconds < minimum:
        raise ConfigError(f"must be at least {format_duration(minimum)}")
    if maximum is not None and seconds > maximum:
        raise ConfigError(f"must be at most {format_duration(maximum)}")
    return seconds


def as_choice(value: Any, choices: Collection[str]) -> str:
    """One of ``choices`` (an enum)."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"must be one of {', '.join(choices)}, not {value!r}")
    return value


def as_slug(value: Any) -> str:
    """A stable key: lowercase letters, digits, ``-`` and ``_``, at most 100, starting with a letter or digit."""
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise ConfigError(f"must be a slug (lowercase letters, digits, - and _), not {value!r}")
    return value


def as_url(value: Any, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """An absolute URL with one of ``schemes`` and a host name, without blanks."""
    url = as_text(value)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(f"invalid URL: {exc}") from None
    if parts.scheme not in schemes:
        raise ConfigError("must start with " + " or ".join(f"{s}://" for s in schemes))
    if not parts.hostname:
        raise ConfigError("must include a host name")
    if any(ch.isspace() for ch in url):
        raise ConfigError("must not contain spaces (percent-encode them)")
    return url


def as_email(value: Any) -> str:
    """An email address, trimmed and lowercased."""
    if not isinstance(value, str) or not EMAIL.fullmatch(value.strip()):
        raise ConfigError(f"not an email address: {value!r}")
    return value.strip().lower()


def as_date(value: Any) -> dt.date:
    """A calendar date: ``2027-03-31`` (YAML may already have made it a date)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"expected a date like 2027-03-31, got {value!r}") from None


def as_timestamp(value: Any) -> dt.datetime:
    """An ISO 8601 date-time with a UTC offset (``2030-01-01T10:00:00Z``), returned in UTC."""
    text = as_text(value, max_len=64)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"must be an ISO 8601 date-time like 2030-01-01T10:00:00Z, not {text!r}") from None
    if parsed.tzinfo is None:
        raise ConfigError("needs a UTC offset (e.g. Z)")
    if not _EARLIEST <= parsed <= _LATEST:
        raise ConfigError("is out of range (1970 to 9000)")
    return parsed.astimezone(dt.UTC)


def as_list(value: Any, *, max_items: int | None = None) -> list[Any]:
    """A list (a YAML sequence, a JSON array), at most ``max_items`` long."""
    if not isinstance(value, list):
        raise ConfigError(f"must be a list, not {kind_of(value)}")
    if max_items is not None and len(value) > max_items:
        raise ConfigError(f"must have at most {max_items} items")
    return value


def as_mapping(value: Any, *, max_items: int | None = None) -> dict[Any, Any]:
    """A mapping (a YAML mapping, a JSON object), at most ``max_items`` keys."""
    if not isinstance(value, dict):
        raise ConfigError(f"must be a mapping, not {kind_of(value)}")
    if max_items is not None and len(value) > max_items:
        raise ConfigError(f"must have at most {max_items} keys")
    return value


# --- reading one mapping -----------------------------------------------------------------------------


class Fields:
    """Reads the fields of one mapping found at ``path``; problems go to ``errors`` under their paths.

    Every reader returns the clean value, the ``default`` when the key is absent (or ``None``), or
    ``None`` after recording a problem. ``trim`` is for YAML written by hand (see :func:`as_text`).
    """

    def __init__(self, data: Mapping[str, Any], path: str = "", errors: ErrorCollector | None = None, *,
                 trim: bool = False) -> None:
        self.data = data
        self.path = path
        self.errors = errors if errors is not None else ErrorCollector()
        self.trim = trim

    def path_of(self, key: str) -> str:
        """The full path of ``key``."""
        return join_path(self.path, key)

    def get(self, key: str) -> Any:
        """The raw value of ``key`` (None when absent)."""
        return self.data.get(key)

    def has(self, key: str) -> bool:
        """Whether ``key`` is given (a ``None`` value counts as absent)."""
        return self.data.get(key) is not None

    def error(self, key: str, message: str) -> None:
        """Record a problem about ``key`` ("" for the mapping itself)."""
        self.errors.add(self.path_of(key) if key else self.path, message)

    def known(self, allowed: Collection[str], *, noun: str = "key") -> None:
        """Every key not in ``allowed`` is a problem ("unknown key (did you mean interval?)")."""
        for key in self.data:
            if not isinstance(key, str):
                self.error(str(key), "keys must be strings")
            elif key not in allowed:
                self.error(key, f"unknown {noun}{did_you_mean(key, allowed)}")

    def _read(self, key: str, default: T | None, validator: Callable[..., T], *args: Any,
              required: bool = False, **kwargs: Any) -> T | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self.error(key, "required")
            return default
        result = self.errors.check(self.path_of(key), validator, value, *args, **kwargs)
        return default if result is None else result

    def text(self, key: str, *, required: bool = False, allow_empty: bool | None = None,
             max_len: int | None = None) -> str | None:
        """A string; an empty one is refused when ``required`` unless ``allow_empty`` says otherwise."""
        return self._read(key, None, as_text, required=required, max_len=max_len, trim=self.trim,
                          allow_empty=not required if allow_empty is None else allow_empty)

    def boolean(self, key: str, default: bool | None = None) -> bool | None:
        """``true`` or ``false``."""
        return self._read(key, default, as_bool)

    def integer(self, key: str, lo: int, hi: int, *, default: int | None = None, required: bool = False,
                text_ok: bool = False) -> int | None:
        """A whole number in ``[lo, hi]`` (see :func:`as_int`)."""
        return self._read(key, default, as_int, lo, hi, required=required, text_ok=text_ok)

    def number(self, key: str, *, default: Decimal | None = None, required: bool = False,
               minimum: float | None = None, maximum: float | None = None,
               exclusive_min: bool = False) -> Decimal | None:
        """A decimal number (see :func:`as_number`)."""
        return self._read(key, default, as_number, required=required, minimum=minimum, maximum=maximum,
                          exclusive_min=exclusive_min)

    def duration(self, key: str, default: float | None = None, *, minimum: float | None = None,
                 maximum: float | None = None) -> float | None:
        """Seconds (see :func:`as_duration`)."""
        return self._read(key, default, as_duration, minimum=minimum, maximum=maximum)

    def choice(self, key: str, choices: Collection[str], *, default: str | None = None,
               required: bool = False) -> str | None:
        """One of ``choices``."""
        return self._read(key, default, as_choice, choices, required=required)

    def slug(self, key: str, *, required: bool = False) -> str | None:
        """A slug (see :func:`as_slug`), read as text first (so ``trim`` applies)."""
        value = self.text(key, required=required, max_len=100)
        return self.errors.check(self.path_of(key), as_slug, value) if value else None

    def url(self, key: str, *, required: bool = False) -> str | None:
        """An absolute http(s) URL."""
        return self._read(key, None, as_url, required=required)

    def email(self, key: str, *, required: bool = False) -> str | None:
        """An email address, lowercased."""
        return self._read(key, None, as_email, required=required)

    def date(self, key: str) -> dt.date | None:
        """A calendar date."""
        return self._read(key, None, as_date)

    def timestamp(self, key: str, *, required: bool = False) -> dt.datetime | None:
        """An ISO 8601 date-time with an offset, in UTC."""
        return self._read(key, None, as_timestamp, required=required)

    def listing(self, key: str, *, max_items: int | None = None) -> list[Any]:
        """A list; ``[]`` when absent or wrong."""
        return self._read(key, None, as_list, max_items=max_items) or []

    def mapping(self, key: str, *, max_items: int | None = None) -> dict[Any, Any] | None:
        """A mapping."""
        return self._read(key, None, as_mapping, max_items=max_items)
