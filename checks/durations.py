"""Durations ("500ms", "30s", "1h30m", "7d") and sizes ("10KB", "1MiB")."""

from __future__ import annotations

import math
import re

from checks.errors import ConfigError

__all__ = ["parse_duration", "format_duration", "parse_size", "format_size"]

_DURATION_UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)", re.IGNORECASE)
_DURATION_FULL = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h|d|w))+", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")

# KB/MB/GB are decimal (SI), KiB/MiB/GiB binary (IEC), as the units say.
_SIZE_UNITS: dict[str, int] = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([kmg]i?b|b)", re.IGNORECASE)


def parse_duration(text: str | int | float) -> float:
    """Return the duration ``text`` in seconds.

    Accepts a number of seconds (``30``, ``2.5``, ``"30"``) or a string of one
    or more ``<number><unit>`` parts with units ms, s, m, h, d, w
    (``"500ms"``, ``"5m"``, ``"1h30m"``). Raises :class:`ConfigError` for
    anything else, including negative, infinite or boolean values.
    """
    if isinstance(text, bool):
        raise ConfigError(f"invalid duration {text!r}: expected e.g. 30s, 5m, 24h")
    if isinstance(text, (int, float)):
        if not math.isfinite(text) or text < 0:
            raise ConfigError(f"invalid duration {text!r}: must be a non-negative number of seconds")
        return float(text)
    if not isinstance(text, str):
        raise ConfigError(
            f"invalid duration of type {type(text).__name__}: expected a string such as 30s, 5m, 24h"
        )
    raw = text.strip()
    if _NUMBER.fullmatch(raw):
        return float(raw)
    compact = raw.replace(" ", "")
    if not compact or not _DURATION_FULL.fullmatch(compact):
        hint = " (negative durations are not allowed)" if compact.startswith("-") else ""
        raise ConfigError(
            f"invalid duration {text!r}: expected a number with a unit "
            f"(ms, s, m, h, d, w), e.g. 500ms, 30s, 5m, 1h30m, 7d{hint}"
        )
    total = 0.0
    for number, unit in _DURATION_PART.findall(compact):
        total += float(number) * _DURATION_UNITS[unit.lower()]
    return total


def format_duration(seconds: float, *, max_units: int | None = None) -> str:
    """Format ``seconds`` compactly, e.g. ``90`` → ``"1m30s"``, ``0.25`` → ``"250ms"``.

    ``max_units`` keeps only the largest units (``max_units=2``: ``"29d3h"``),
    rounding down, for human display. Without it the result round-trips
    through :func:`parse_duration` to the millisecond.
    """
    if not math.isfinite(seconds):
        return str(seconds)
    sign = "-" if seconds < 0 else ""
    ms_total = int(round(abs(seconds) * 1000))
    if ms_total == 0:
        return "0s"
    parts: list[str] = []
    for unit, size_ms in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, ms_total = divmod(ms_total, size_ms)
        if count:
            parts.append(f"{count}{unit}")
    if max_units is not None:
        parts = parts[:max_units]
    return sign + "".join(parts)


def parse_size(text: str | int) -> int:
    """Return the size ``text`` in bytes.

    Accepts a whole number of bytes or ``<number><unit>`` with units B, KB, MB,
    GB (powers of 1000) and KiB, MiB, GiB (powers of 1024), case-insensitive.
    Raises :class:`ConfigError` otherwise.
    """
    if isinstance(text, bool):
        raise ConfigError(f"invalid size {text!r}: expected e.g. 512KB or 1MiB")
    if isinstance(text, int):
        if text < 0:
            raise ConfigError(f"invalid size {text!r}: must not be negative")
        return text
    if isinstance(text, float):
        if not math.isfinite(text) or text < 0 or text != int(text):
            raise ConfigError(f"invalid size {text!r}: must be a whole number of bytes")
        return int(text)
    if not isinstance(text, str):
        raise ConfigError(f"invalid size of type {type(text).__name__}: expected e.g. 512KB or 1MiB")
    raw = text.strip()
    if len(raw) > 40:  # no real size is this long; int() of thousands of digits raises
        raise ConfigError(f"invalid size {text[:40]!r}…: too long")
    if raw.isascii() and raw.isdigit():  # "²".isdigit() is True, int("²") raises
        return int(raw)
    match = _SIZE.fullmatch(raw)
    if not match:
        raise ConfigError(
            f"invalid size {text!r}: expected a number with a unit "
            "(B, KB, MB, GB, KiB, MiB, GiB), e.g. 512KB or 1MiB"
        )
    size = float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]
    if not math.isfinite(size):
        raise ConfigError(f"invalid size {text!r}: too large")
    return int(size)


def format_size(size: int) -> str:
    """Format a byte count with the largest binary unit that divides it, e.g. ``"1MiB"``."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"
