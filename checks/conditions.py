"""The condition language: parse and validate at config load, evaluate per probe run.

A condition is one comparison, or several joined by ``&&`` / ``||`` (``&&``
binds tighter), optionally followed by ``=> degraded`` (failing it makes the
check degraded instead of down) or ``=> down`` (the default)::

    [STATUS] == 200
    [BODY].data.items[0].state == "ok" || [STATUS] == 204
    [RESPONSE_TIME] < 800 => degraded
    [CERT_EXPIRY] > 72h
    len([BODY].items) >= 1
    has([HEADER:X-Request-Id])
    [HEADER:content-type] contains json
    [BODY] matches "^OK( |$)"

Placeholders: ``[STATUS]``, ``[RESPONSE_TIME]`` (milliseconds), ``[BODY]`` (the
body text, or a JSON value with a path such as ``.a.b[0]``, ``["key.with.dots"]``
or ``[-1]``), ``[HEADER:Name]`` (case-insensitive), ``[CONNECTED]``, ``[IP]``,
``[DNS_RCODE]``, ``[DNS_ANSWERS]`` (a list), ``[CERT_EXPIRY]`` (time left, a
duration), ``[CERT_CHAIN_VALID]``, ``[CERT_HOSTNAME_MATCH]``.

Operators: ``== != < <= > >=``, ``contains``, ``not contains``, ``matches``,
``not matches`` (regular expression *search*: anchor with ``^…$`` for a whole
match). Functions: ``len(x)`` (characters, list items, object keys; bytes for
the raw ``[BODY]``) and ``has(x)`` (the value exists).

Literals: numbers, ``true``/``false``/``null``, durations (``500ms``, ``72h``),
sizes (``1KB`` = 1000 bytes, ``1KiB`` = 1024), ``"quoted"`` or ``'quoted'``
strings (``\\"`` and ``\\\\`` are the only escapes, so regexes need no doubling)
and bare words (``ok``, ``10.0.0.1``). A bare number compared with
``[RESPONSE_TIME]`` means milliseconds; ``[CERT_EXPIRY]`` needs a unit.

A value that cannot be resolved or compared (a body that is not JSON, a
missing key, ``"abc" < 5``) fails the condition with an explanation; it never
turns into 0. Nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from typing import Literal as TypingLiteral

import dns.rcode
import regex

from checks.durations import format_duration, parse_duration, parse_size
from checks.errors import ConfigError
from checks.observation import Observation

__all__ = [
    "Condition",
    "ConditionResult",
    "Observation",
    "PLACEHOLDERS",
    "evaluate_conditions",
    "parse_condition",
    "summarize",
]

Severity = TypingLiteral["down", "degraded"]
Outcome = TypingLiteral["up", "degraded", "down"]

MAX_CONDITION_LENGTH = 2000
REGEX_TIMEOUT_S = 0.1
_DISPLAY_LIMIT = 80

KINDS_WITH_NETWORK = frozenset({"http", "tcp", "dns", "tls"})


@dataclass(frozen=True)
class _PlaceholderInfo:
    type: str  # number | ms | duration | string | rcode | bool | list | any
    kinds: frozenset[str]
    unavailable: str  # why a probe may lack the value


PLACEHOLDERS: dict[str, _PlaceholderInfo] = {
    "STATUS": _PlaceholderInfo("number", frozenset({"http"}), "no HTTP response was received"),
    "RESPONSE_TIME": _PlaceholderInfo("ms", KINDS_WITH_NETWORK, "the probe did not complete"),
    "BODY": _PlaceholderInfo("string", frozenset({"http", "tcp"}), "no body was received"),
    "HEADER": _PlaceholderInfo("string", frozenset({"http"}), "no HTTP response was received"),
    "CONNECTED": _PlaceholderInfo("bool", frozenset({"http", "tcp", "tls"}), "not observed"),
    "IP": _PlaceholderInfo("string", KINDS_WITH_NETWORK, "no address was resolved"),
    "DNS_RCODE": _PlaceholderInfo("rcode", frozenset({"dns"}), "no DNS response was received"),
    "DNS_ANSWERS": _PlaceholderInfo("list", frozenset({"dns"}), "no DNS response was received"),
    "CERT_EXPIRY": _PlaceholderInfo(
        "duration", frozenset({"tls", "http"}), "no TLS certificate was received"
    ),
    "CERT_CHAIN_VALID": _PlaceholderInfo("bool", frozenset({"tls"}), "no TLS certificate was received"),
    "CERT_HOSTNAME_MATCH": _PlaceholderInfo(
        "bool", frozenset({"tls"}), "no TLS certificate was received"
    ),
}
_FUNCTIONS = {"len": "number", "has": "bool"}
_ORDERING = {"<", "<=", ">", ">="}
_EQUALITY = {"==", "!="}


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Duration:
    """A length of time in seconds, as produced by ``72h`` or ``[CERT_EXPIRY]``."""

    seconds: float

    def __str__(self) -> str:
        return format_duration(self.seconds, max_units=2)


class _Missing(Exception):
    """A value is absent (a missing key or header); ``has()`` turns this into false."""


class _Unresolvable(Exception):
    """A value could not be obtained or compared; the condition fails with this message."""


@dataclass(frozen=True)
class _Resolved:
    value: Any
    unit: str | None = None  # "ms" for [RESPONSE_TIME], "raw" for the raw [BODY]


# --------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class _Literal:
    value: Any
    kind: str  # number | string | bool | null | duration | size
    text: str  # as written, without quotes: used wherever text is wanted
    source: str

    @property
    def static_type(self) -> str:
        return self.kind


@dataclass(frozen=True)
class _Placeholder:
    name: str
    header: str | None
    path: tuple[str | int, ...]
    source: str

    @property
    def static_type(self) -> str:
        if self.name == "BODY" and self.path:
            return "any"
        return PLACEHOLDERS[self.name].type


@dataclass(frozen=True)
class _Function:
    name: str
    arg: _Placeholder
    source: str

    @property
    def static_type(self) -> str:
        return _FUNCTIONS[self.name]


_Operand = _Literal | _Placeholder | _Function


@dataclass(frozen=True)
class _Compare:
    left: _Operand
    op: str | None  # None: a bare boolean operand such as has(...)
    right: _Operand | None
    pattern: Any = None  # compiled regex for matches / not matches


@dataclass(frozen=True)
class _Junction:
    op: str  # "&&" or "||"
    items: tuple[_Compare | _Junction, ...]


@dataclass(frozen=True)
class Condition:
    """A parsed, validated condition. Build it with :func:`parse_condition`."""

    text: str
    severity: Severity
    placeholders: frozenset[str] = field(compare=False)
    _expr: _Compare | _Junction = field(compare=False, repr=False)

    def validate_for_kind(self, kind: str) -> None:
        """Raise :class:`ConfigError` if a placeholder cannot be observed by checks of ``kind``."""
        for name in sorted(self.placeholders):
            if kind not in PLACEHOLDERS[name].kinds:
                allowed = ", ".join(sorted(PLACEHOLDERS[name].kinds))
                raise ConfigError(f"[{name}] is not available for kind {kind} (only {allowed})")

    def evaluate(self, observation: Observation) -> ConditionResult:
        """Evaluate against one observation; never raises."""
        try:
            ok, resolved, error = _evaluate(self._expr, observation)
        except Exception as exc:  # a bug here must not take a probe down
            ok, resolved, error = False, self.text, f"internal error: {type(exc).__name__}: {exc}"
        return ConditionResult(text=self.text, resolved=resolved, ok=ok, severity=self.severity, error=error)


@dataclass(frozen=True)
class ConditionResult:
    """One condition's verdict with the values it saw, e.g. ``[STATUS] (503) == 200``."""

    text: str
    resolved: str
    ok: bool
    severity: Severity
    error: str | None = None

    @property
    def message(self) -> str:
        """The resolved text, followed by the error explanation if there is one."""
        return f"{self.resolved}: {self.error}" if self.error else self.resolved

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable dict with text, resolved, ok, severity and error."""
        return {
            "text": self.text,
            "resolved": self.resolved,
            "ok": self.ok,
            "severity": self.severity,
            "error": self.error,
        }


# --------------------------------------------------------------------------- tokenizer

_TWO_CHAR_OPS = ("==", "!=", "<=", ">=", "||", "&&")
_WORD_STOP = set(" \t\r\n\f\v()\"'|&=!<>")
_KEY_STOP = set(" \t\r\n\f\v()\"'|&=!<>.[]")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DURATION_RE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+", re.IGNORECASE)
_SIZE_RE = re.compile(r"\d+(?:\.\d+)?(?:[kmg]i?b|b)", re.IGNORECASE)
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True)
class _Token:
    kind: str  # PH OP LP RP WORD STR ARROW
    text: str  # source text of the token
    pos: int
    value: Any = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("=>", i):
            tokens.append(_Token("ARROW", "=>", i))
            i += 2
        elif text.startswith(_TWO_CHAR_OPS, i):
            tokens.append(_Token("OP", text[i : i + 2], i))
            i += 2
        elif c in "<>":
            tokens.append(_Token("OP", c, i))
            i += 1
        elif c == "=":
            raise ConfigError(f"single '=' at position {i + 1}: use == to compare")
        elif c == "!":
            raise ConfigError(f"unexpected '!' at position {i + 1}: use != or 'not contains'")
        elif c in "|&":
            raise ConfigError(f"unexpected {c!r} at position {i + 1}: use || or &&")
        elif c == "(":
            tokens.append(_Token("LP", c, i))
            i += 1
        elif c == ")":
            tokens.append(_Token("RP", c, i))
            i += 1
        elif c == "[":
            token, i = _scan_placeholder(text, i)
            tokens.append(token)
        elif c in "\"'":
            value, end = _scan_quoted(text, i)
            tokens.append(_Token("STR", text[i:end], i, value))
            i = end
        else:
            start = i
            while i < n and text[i] not in _WORD_STOP:
                i += 1
            tokens.append(_Token("WORD", text[start:i], start))
    return tokens


def _scan_quoted(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
        elif c == quote:
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise ConfigError(f"unterminated string starting at position {start + 1}: missing closing {quote}")


def _scan_placeholder(text: str, start: int) -> tuple[_Token, int]:
    end = text.find("]", start)
    if end < 0:
        raise ConfigError(f"unterminated placeholder at position {start + 1}: missing ]")
    inner = text[start + 1 : end]
    name, sep, header = inner.partition(":")
    upper = name.strip().upper()
    if upper not in PLACEHOLDERS:
        raise ConfigError(f"unknown placeholder [{inner}]{_suggest(upper)}")
    if upper == "HEADER":
        header = header.strip()
        if not sep or not header:
            raise ConfigError("[HEADER] needs a header name, e.g. [HEADER:Content-Type]")
        if not _HEADER_NAME_RE.fullmatch(header):
            raise ConfigError(f"invalid header name {header!r} in [{inner}]")
    elif sep:
        raise ConfigError(f"[{upper}] takes no argument (found [{inner}])")
    i = end + 1
    path: list[str | int] = []
    if upper == "BODY":
        path, i = _scan_json_path(text, i)
    elif i < len(text) and text[i] == "." and i + 1 < len(text) and text[i + 1] not in _KEY_STOP:
        raise ConfigError(f"only [BODY] takes a JSON path; found [{upper}]{text[i:].split()[0]}")
    source = text[start:i]
    return _Token("PH", source, start, (upper, header if upper == "HEADER" else None, tuple(path))), i


def _scan_json_path(text: str, i: int) -> tuple[list[str | int], int]:
    path: list[str | int] = []
    n = len(text)
    while i < n and text[i] in ".[":
        if text[i] == ".":
            start = i + 1
            j = start
            while j < n and text[j] not in _KEY_STOP:
                j += 1
            if j == start:
                raise ConfigError(f"empty key after '.' in JSON path at position {i + 1}")
            path.append(text[start:j])
            i = j
        else:
            close = text.find("]", i)
            if close < 0:
                raise ConfigError(f"unterminated [ in JSON path at position {i + 1}")
            inner = text[i + 1 : close].strip()
            if re.fullmatch(r"-?\d+", inner):
                path.append(int(inner))
                i = close + 1
            elif inner[:1] in ("'", '"'):
                key, end = _scan_quoted(text, text.index(inner[0], i))
                end_bracket = end
                while end_bracket < n and text[end_bracket] == " ":
                    end_bracket += 1
                if end_bracket >= n or text[end_bracket] != "]":
                    raise ConfigError(f"expected ] after quoted key in JSON path at position {end + 1}")
                path.append(key)
                i = end_bracket + 1
            else:
                raise ConfigError(
                    f"invalid JSON path index [{inner}] at position {i + 1}: "
                    'use [0], [-1] or ["key"]'
                )
    return path, i


def _suggest(name: str) -> str:
    matches = difflib.get_close_matches(name, list(PLACEHOLDERS), n=1, cutoff=0.6)
    return f" (did you mean [{matches[0]}]?)" if matches else f" (known: {', '.join(f'[{p}]' for p in PLACEHOLDERS)})"


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, tokens: list[_Token], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.i = 0
        self.placeholders: set[str] = set()

    def peek(self, offset: int = 0) -> _Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> _Compare | _Junction:
        expr = self.parse_or()
        token = self.peek()
        if token is not None:
            raise ConfigError(f"unexpected {_describe(token)} after a complete comparison")
        return expr

    def parse_or(self) -> _Compare | _Junction:
        items = [self.parse_and()]
        while (t := self.peek()) is not None and t.kind == "OP" and t.text == "||":
            self.take()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else _Junction("||", tuple(items))

    def parse_and(self) -> _Compare | _Junction:
        items: list[_Compare | _Junction] = [self.parse_compare()]
        while (t := self.peek()) is not None and t.kind == "OP" and t.text == "&&":
            self.take()
            items.append(self.parse_compare())
        return items[0] if len(items) == 1 else _Junction("&&", tuple(items))

    def parse_compare(self) -> _Compare:
        left = self.parse_operand("a value")
        op = self.parse_operator()
        if op is None:
            return _check_bare(left)
        right = self.parse_operand(f"a value after {op}")
        return _check_comparison(left, op, right)

    def parse_operator(self) -> str | None:
        token = self.peek()
        if token is None or (token.kind == "OP" and token.text in ("||", "&&")):
            return None
        if token.kind == "OP":
            self.take()
            return token.text
        if token.kind == "WORD":
            word = token.text.lower()
            if word in ("contains", "matches"):
                self.take()
                return word
            nxt = self.peek(1)
            if word == "not" and nxt is not None and nxt.kind == "WORD" and nxt.text.lower() in (
                "contains",
                "matches",
            ):
                self.take()
                self.take()
                return f"not {nxt.text.lower()}"
        raise ConfigError(
            f"expected an operator (== != < <= > >= contains, not contains, matches), "
            f"found {_describe(token)}"
        )

    def parse_operand(self, what: str) -> _Operand:
        token = self.peek()
        if token is None:
            raise ConfigError(f"expected {what}, but the condition ends there")
        if token.kind == "PH":
            self.take()
            return self.placeholder(token)
        if token.kind == "WORD":
            nxt = self.peek(1)
            if nxt is not None and nxt.kind == "LP":
                return self.parse_function()
            self.take()
            return _classify_word(token.text)
        if token.kind == "STR":
            self.take()
            return _Literal(token.value, "string", token.value, token.text)
        if token.kind == "LP":
            raise ConfigError("parentheses are only for functions, e.g. len([BODY].items)")
        raise ConfigError(f"expected {what}, found {_describe(token)}")

    def parse_function(self) -> _Function:
        name_token = self.take()
        name = name_token.text.lower()
        if name not in _FUNCTIONS:
            raise ConfigError(f"unknown function {name_token.text}() (known: len(), has())")
        self.take()  # (
        arg_token = self.peek()
        if arg_token is None or arg_token.kind != "PH":
            found = "the end" if arg_token is None else _describe(arg_token)
            raise ConfigError(f"{name}() takes a placeholder such as [BODY].items, found {found}")
        self.take()
        arg = self.placeholder(arg_token)
        close = self.peek()
        if close is None or close.kind != "RP":
            raise ConfigError(f"missing ) after {name}({arg.source}")
        self.take()
        if name == "len" and arg.static_type not in ("string", "list", "any"):
            raise ConfigError(f"len() needs text, a list or a JSON value; {arg.source} is a {_type_word(arg)}")
        return _Function(name, arg, f"{name}({arg.source})")

    def placeholder(self, token: _Token) -> _Placeholder:
        name, header, path = token.value
        self.placeholders.add(name)
        return _Placeholder(name, header, path, token.text)


def _describe(token: _Token) -> str:
    return f"{token.text!r} at position {token.pos + 1}"


def _classify_word(word: str) -> _Literal:
    lower = word.lower()
    if lower in ("true", "false"):
        return _Literal(lower == "true", "bool", word, word)
    if lower == "null":
        return _Literal(None, "null", word, word)
    if _NUMBER_RE.fullmatch(word):
        number = float(word)
        if not math.isfinite(number):
            return _Literal(word, "string", word, word)
        value: int | float = int(word) if re.fullmatch(r"[+-]?\d+", word) else number
        return _Literal(value, "number", word, word)
    if _DURATION_RE.fullmatch(word):
        return _Literal(Duration(parse_duration(word)), "duration", word, word)
    if _SIZE_RE.fullmatch(word):
        return _Literal(parse_size(word), "size", word, word)
    return _Literal(word, "string", word, word)


def _type_word(operand: _Operand) -> str:
    t = operand.static_type
    return {
        "number": "number",
        "ms": "number of milliseconds",
        "duration": "duration",
        "string": "text",
        "rcode": "DNS response code",
        "bool": "true/false value",
        "list": "list",
        "any": "JSON value",
        "null": "null",
        "size": "size",
    }[t]


_NUMERIC_TYPES = {"number", "ms", "duration", "size", "any"}


def _check_bare(operand: _Operand) -> _Compare:
    if isinstance(operand, _Literal):
        raise ConfigError(f"{operand.source!r} is not a condition: compare something, e.g. [STATUS] == 200")
    if operand.static_type in ("bool", "any"):
        return _Compare(operand, None, None)
    raise ConfigError(
        f"{operand.source} is a {_type_word(operand)}, not true/false: compare it, "
        f"e.g. {operand.source} == …"
    )


def _check_comparison(left: _Operand, op: str, right: _Operand) -> _Compare:
    if isinstance(left, _Literal) and isinstance(right, _Literal):
        raise ConfigError(f"{left.source} {op} {right.source} compares two constants; use a placeholder")
    lt, rt = left.static_type, right.static_type
    if op in ("matches", "not matches"):
        if not isinstance(right, _Literal) or right.kind in ("bool", "null"):
            raise ConfigError(f"{op} needs a regular expression on its right, e.g. matches \"^ok\"")
        if lt in ("list",):
            raise ConfigError(f"{left.source} is a list; use contains to look for an item")
        try:
            pattern = regex.compile(right.text)
        except (regex.error, ValueError, RecursionError, OverflowError) as exc:
            raise ConfigError(f"invalid regular expression {right.text!r}: {exc}") from None
        return _Compare(left, op, right, pattern)
    if op in ("contains", "not contains"):
        if lt not in ("string", "list", "any", "rcode"):
            raise ConfigError(f"{op} needs text or a list on its left; {left.source} is a {_type_word(left)}")
        return _Compare(left, op, right)
    for a, b in ((left, right), (right, left)):
        _check_pair(a, b, op)
    # Response codes are case-insensitive words: compare them in one spelling.
    if lt == "rcode" and isinstance(right, _Literal):
        right = _Literal(right.text.upper(), "string", right.text.upper(), right.source)
    elif rt == "rcode" and isinstance(left, _Literal):
        left = _Literal(left.text.upper(), "string", left.text.upper(), left.source)
    return _Compare(left, op, right)


def _check_pair(a: _Operand, b: _Operand, op: str) -> None:
    """Reject comparisons that can never make sense, naming both sides."""
    at = a.static_type
    lit = b if isinstance(b, _Literal) else None
    if at == "list":
        raise ConfigError(f"{a.source} is a list; use contains or len({a.source}) instead of {op}")
    if op in _ORDERING:
        if at in ("string", "rcode", "bool", "null"):
            raise ConfigError(f"{op} needs numbers or durations; {a.source} is a {_type_word(a)}")
        if lit is not None and lit.kind not in ("number", "duration", "size"):
            raise ConfigError(f"{op} needs a number or a duration; {lit.source} is not one")
    if lit is None:
        return
    if at == "number" and lit.kind in ("string", "bool", "null", "duration"):
        raise ConfigError(f"{a.source} is a number; {lit.source} is not")
    if at == "number" and lit.kind == "size" and not isinstance(a, _Function):
        raise ConfigError(f"{a.source} is a number; {lit.source} is a size")
    if at == "ms" and lit.kind not in ("number", "duration"):
        raise ConfigError(f"{a.source} is a number of milliseconds; compare it with e.g. 800 or 2s")
    if at == "duration":
        if lit.kind == "number" and lit.value != 0:
            raise ConfigError(
                f"{a.source} is a duration: give {lit.source} a unit, e.g. {lit.source}h or {lit.source}d"
            )
        if lit.kind not in ("number", "duration"):
            raise ConfigError(f"{a.source} is a duration; compare it with e.g. 72h or 14d")
    if at == "bool" and lit.kind != "bool":
        raise ConfigError(f"{a.source} is true or false; {lit.source} is neither")
    if at == "rcode":
        if lit.kind != "string":
            raise ConfigError(f"{a.source} is a DNS response code such as NOERROR; {lit.source} is not")
        try:
            dns.rcode.from_text(lit.text.upper())
        except Exception:
            raise ConfigError(
                f"unknown DNS response code {lit.text!r} (e.g. NOERROR, NXDOMAIN, SERVFAIL, REFUSED)"
            ) from None
    if at == "string" and lit.kind in ("bool", "null") and a.static_type != "any":
        raise ConfigError(f"{a.source} is text; compare it with text, not {lit.source}")


def parse_condition(text: str) -> Condition:
    """Parse and validate one condition; raise :class:`ConfigError` naming what is wrong.

    Results are cached by text, so evaluating many checks with the same
    conditions costs one parse each.
    """
    if not isinstance(text, str):
        raise ConfigError(
            f"a condition must be a string, not {type(text).__name__} "
            "(in YAML, quote conditions that start with [)"
        )
    return _parse_condition_cached(text)


@lru_cache(maxsize=8192)
def _parse_condition_cached(text: str) -> Condition:
    if len(text) > MAX_CONDITION_LENGTH:
        raise ConfigError(f"condition is too long ({len(text)} characters, at most {MAX_CONDITION_LENGTH})")
    if not text.strip():
        raise ConfigError("condition is empty")
    try:
        tokens = _tokenize(text)
        severity: Severity = "down"
        arrows = [k for k, t in enumerate(tokens) if t.kind == "ARROW"]
        if arrows:
            k = arrows[0]
            tail = tokens[k + 1 :]
            if len(tail) != 1 or tail[0].kind != "WORD" or tail[0].text.lower() not in ("down", "degraded"):
                found = " ".join(t.text for t in tail) or "nothing"
                raise ConfigError(f"expected 'degraded' or 'down' after =>, found {found}")
            severity = "degraded" if tail[0].text.lower() == "degraded" else "down"
            tokens = tokens[:k]
        if not tokens:
            raise ConfigError("condition is empty")
        parser = _Parser(tokens, text)
        expr = parser.parse()
    except ConfigError:
        raise
    except (RecursionError, ValueError, OverflowError) as exc:  # defensive: never leak other errors
        raise ConfigError(f"cannot parse condition: {exc}") from None
    return Condition(text=text, severity=severity, placeholders=frozenset(parser.placeholders), _expr=expr)


# --------------------------------------------------------------------------- evaluation


def evaluate_conditions(conditions: list[Condition], observation: Observation) -> list[ConditionResult]:
    """Evaluate every condition against ``observation``, in order; never raises."""
    return [condition.evaluate(observation) for condition in conditions]


def summarize(results: list[ConditionResult]) -> tuple[Outcome, ConditionResult | None]:
    """Return ``(outcome, first failure that decided it)`` for a list of results.

    Any failing ``down`` condition makes the outcome ``"down"``; otherwise any
    failing ``degraded`` condition makes it ``"degraded"``; otherwise ``"up"``.
    """
    down = next((r for r in results if not r.ok and r.severity == "down"), None)
    if down is not None:
        return "down", down
    degraded = next((r for r in results if not r.ok), None)
    if degraded is not None:
        return "degraded", degraded
    return "up", None


def _evaluate(expr: _Compare | _Junction, obs: Observation) -> tuple[bool, str, str | None]:
    if isinstance(expr, _Junction):
        parts = [_evaluate(item, obs) for item in expr.items]
        resolved = f" {expr.op} ".join(p[1] for p in parts)
        if expr.op == "||":
            ok = any(p[0] for p in parts)
        else:
            ok = all(p[0] for p in parts)
        errors = [p[2] for p in parts if p[2]]
        return ok, resolved, (None if ok or not errors else "; ".join(errors))
    return _evaluate_compare(expr, obs)


def _evaluate_compare(cmp: _Compare, obs: Observation) -> tuple[bool, str, str | None]:
    left_text, left, left_err = _resolve_for_display(cmp.left, obs)
    if cmp.op is None:
        if left_err:
            return False, left_text, left_err
        if not isinstance(left.value, bool):
            return False, left_text, f"{cmp.left.source} is {_show(left.value)}, not true or false"
        return left.value, left_text, None
    assert cmp.right is not None
    right_text, right, right_err = _resolve_for_display(cmp.right, obs)
    resolved = f"{left_text} {cmp.op} {right_text}"
    if left_err or right_err:
        return False, resolved, left_err or right_err
    try:
        ok = _apply(cmp, left, right)
    except _Unresolvable as exc:
        return False, resolved, str(exc)
    return ok, resolved, None


def _resolve_for_display(operand: _Operand, obs: Observation) -> tuple[str, _Resolved, str | None]:
    if isinstance(operand, _Literal):
        return operand.source, _Resolved(operand.value), None
    try:
        resolved = _resolve(operand, obs)
    except (_Missing, _Unresolvable) as exc:
        return f"{operand.source} (?)", _Resolved(None), f"{operand.source}: {exc}"
    shown = _show(resolved.value, unit=resolved.unit)
    return f"{operand.source} ({shown})", resolved, None


def _resolve(operand: _Placeholder | _Function, obs: Observation) -> _Resolved:
    if isinstance(operand, _Function):
        if operand.name == "has":
            try:
                value = _resolve(operand.arg, obs).value
            except _Missing:
                return _Resolved(False)
            return _Resolved(value is not None)
        inner = _resolve(operand.arg, obs)
        value = inner.value
        if inner.unit == "raw" and isinstance(value, str):
            return _Resolved(len(obs.body or b""))
        if isinstance(value, (str, list, dict)):
            return _Resolved(len(value))
        raise _Unresolvable(f"len() needs text, a list or an object, got {_show(value)}")
    return _resolve_placeholder(operand, obs)


def _resolve_placeholder(ph: _Placeholder, obs: Observation) -> _Resolved:
    info = PLACEHOLDERS[ph.name]
    name = ph.name
    if name == "BODY":
        if obs.body is None:
            raise _Unresolvable(info.unavailable)
        if not ph.path:
            return _Resolved(obs.body_text, unit="raw")
        ok, value = obs.body_json
        if not ok:
            raise _Unresolvable(value)
        return _Resolved(_walk(value, ph.path))
    if name == "HEADER":
        if obs.status is None:
            raise _Unresolvable(info.unavailable)
        assert ph.header is not None
        header = obs.header(ph.header)
        if header is None:
            raise _Missing(f"no {ph.header} header in the response")
        return _Resolved(header)
    value = {
        "STATUS": obs.status,
        "RESPONSE_TIME": obs.response_time_ms,
        "CONNECTED": obs.connected,
        "IP": obs.ip,
        "DNS_RCODE": obs.dns_rcode,
        "DNS_ANSWERS": obs.dns_answers,
        "CERT_EXPIRY": None if obs.cert_expiry_s is None else Duration(obs.cert_expiry_s),
        "CERT_CHAIN_VALID": obs.cert_chain_valid,
        "CERT_HOSTNAME_MATCH": obs.cert_hostname_match,
    }[name]
    if value is None:
        raise _Unresolvable(f"not available: {info.unavailable}")
    return _Resolved(value, unit="ms" if name == "RESPONSE_TIME" else None)


def _walk(value: Any, path: tuple[str | int, ...]) -> Any:
    where = "[BODY]"
    for step in path:
        if isinstance(value, dict):
            key = str(step)
            if key not in value:
                raise _Missing(f"{where} has no key {key!r}")
            value = value[key]
            where += f".{key}"
        elif isinstance(value, list):
            index = step if isinstance(step, int) else _list_index(step, where)
            if not -len(value) <= index < len(value):
                raise _Missing(f"{where} has {len(value)} items, no index {index}")
            value = value[index]
            where += f"[{index}]"
        else:
            raise _Missing(f"{where} is {_show(value)}, which has no {step!r}")
    return value


def _list_index(step: str | int, where: str) -> int:
    if isinstance(step, str) and re.fullmatch(r"-?\d+", step):
        return int(step)
    raise _Missing(f"{where} is a list; use an index such as [0], not {step!r}")


def _show(value: Any, unit: str | None = None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.1f}" if unit == "ms" else repr(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        text = value if value else '""'
    else:
        import json

        text = json.dumps(value, ensure_ascii=False, default=str)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= _DISPLAY_LIMIT else text[: _DISPLAY_LIMIT - 1] + "…"


# --------------------------------------------------------------------------- comparison


def _apply(cmp: _Compare, left: _Resolved, right: _Resolved) -> bool:
    op = cmp.op
    assert op is not None and cmp.right is not None
    if op in ("matches", "not matches"):
        found = _regex_search(cmp.pattern, _as_text(left.value, cmp.left.source))
        return found if op == "matches" else not found
    if op in ("contains", "not contains"):
        found = _contains(left.value, right.value, _literal_text(cmp.right, right), cmp.left.source)
        return found if op == "contains" else not found
    if op in _EQUALITY:
        equal = _equal(left, right, _literal_text(cmp.left, left), _literal_text(cmp.right, right))
        return equal if op == "==" else not equal
    a, b = _ordered_pair(cmp, left, right)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _literal_text(operand: _Operand, resolved: _Resolved) -> str | None:
    return operand.text if isinstance(operand, _Literal) else None


def _as_text(value: Any, source: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        raise _Unresolvable(f"{source} is {'a list' if isinstance(value, list) else 'an object'}, not text")
    return _show(value)


def _regex_search(pattern: Any, text: str) -> bool:
    try:
        return pattern.search(text, timeout=REGEX_TIMEOUT_S) is not None
    except TimeoutError:
        raise _Unresolvable(
            f"regular expression gave up after {int(REGEX_TIMEOUT_S * 1000)}ms on {len(text)} characters"
        ) from None


def _contains(container: Any, item: Any, item_text: str | None, source: str) -> bool:
    if isinstance(container, str):
        needle = item_text if item_text is not None else _as_text(item, "the right-hand side")
        return needle in container
    if isinstance(container, list):
        return any(_equal(_Resolved(element), _Resolved(item), None, item_text) for element in container)
    if isinstance(container, dict):
        return (item_text if item_text is not None else _show(item)) in container
    raise _Unresolvable(f"{source} is {_show(container)}; contains needs text, a list or an object")


def _equal(left: _Resolved, right: _Resolved, left_text: str | None, right_text: str | None) -> bool:
    a, b = left.value, right.value
    if isinstance(a, Duration) or isinstance(b, Duration):
        x, y = _ordered_values(left, right, "==")
        return x == y
    if isinstance(a, bool) or isinstance(b, bool):
        if isinstance(a, bool) and isinstance(b, bool):
            return a == b
        other, flag = (b, a) if isinstance(a, bool) else (a, b)
        return isinstance(other, str) and other.strip().lower() == ("true" if flag else "false")
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        text, other, other_text = (a, b, right_text) if isinstance(a, str) else (b, a, left_text)
        if other_text is not None and text == other_text:
            return True
        number = _to_number(text)
        return number is not None and _is_number(other) and number == other
    return bool(a == b)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _to_number(text: str) -> float | None:
    text = text.strip()
    if not _NUMBER_RE.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _ordered_pair(cmp: _Compare, left: _Resolved, right: _Resolved) -> tuple[float, float]:
    assert cmp.op is not None
    return _ordered_values(left, right, cmp.op)


def _ordered_values(left: _Resolved, right: _Resolved, op: str) -> tuple[float, float]:
    """Turn both sides into comparable floats, or explain why they cannot be compared."""
    if isinstance(left.value, Duration) or isinstance(right.value, Duration):
        return _as_seconds(left, right, op), _as_seconds(right, left, op)
    return _as_number(left.value, right.value, op), _as_number(right.value, left.value, op)


def _as_seconds(side: _Resolved, other: _Resolved, op: str) -> float:
    value = side.value
    if isinstance(value, Duration):
        return value.seconds
    if _is_number(value):
        if side.unit == "ms":
            return float(value) / 1000.0
        if value == 0:
            return 0.0
        raise _Unresolvable(f"cannot compare the number {_show(value)} with the duration {_show(other.value)}: no unit")
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ConfigError:
            pass
    raise _Unresolvable(f"cannot compare {_show(value)} with the duration {_show(other.value)}: not a duration")


def _as_number(value: Any, other: Any, op: str) -> float:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        number = _to_number(value)
        if number is not None:
            return number
    raise _Unresolvable(f"cannot compare {_show(value)} {op} {_show(other)}: {_show(value)} is not a number")
