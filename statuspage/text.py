"""Text that can reach XML (feeds, the export), email headers or JSON: one rule for what may be stored,
one scrubber for what is rendered.

Stored text may hold any Unicode character except

* control characters — C0 (``\\u0000``–``\\u001f``) but tab, and line breaks where the field is
  multi-line; DEL and C1 (``\\u007f``–``\\u009f``);
* lone surrogates (``\\ud800``–``\\udfff``: not characters, cannot be encoded as UTF-8) and the
  noncharacters ``\\ufffe``/``\\uffff``.

Services check what they are given with ``text_problem`` and refuse it with a clear error; they are
the one boundary every path goes through (console, API, CSV, CLI). The builders of feeds and the
export still pass everything through ``xml_safe``, so a row written before this rule (or behind its
back) can never break a feed.
"""

from __future__ import annotations

import re

_SINGLE_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_MULTI_LINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# What XML 1.0 cannot carry at all (its Char production), plus DEL and C1 for good measure.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored ("contains a control character (U+000B)"), or None if it can."""
    match = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    if match is None:
        return None
    code = ord(match.group(0))
    if 0xD800 <= code <= 0xDFFF:
        return f"contains an invalid character (a lone surrogate, U+{code:04X})"
    if code in (0x0A, 0x0D):
        return "must be a single line"
    return f"contains a control character (U+{code:04X})"


def xml_safe(value: str | None) -> str:
    """``value`` with every character XML 1.0 cannot carry removed (for feeds, calendars, the export)."""
    if not value:
        return value or ""
    return _NOT_XML.sub("", value)
