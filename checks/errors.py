"""The one exception type raised by the check engine's parsers and validators."""

from __future__ import annotations


class ConfigError(ValueError):
    """A check specification, condition, duration or size is invalid.

    The message names what is wrong in words an operator can act on, e.g.
    ``unknown placeholder [STAUS] (did you mean [STATUS]?)``.
    """
