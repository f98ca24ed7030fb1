"""Check specifications: what to probe, how often, and what counts as healthy.

:func:`parse_check_spec` validates one check entry of the configuration file
(a plain dict) and returns every problem at once, each with the field it is
about, so a config loader can report ``components[0].checks[2].interval: must
be at least 5s``. :class:`CheckSpec` is the validated result; its
:meth:`CheckSpec.to_dict` and :meth:`CheckSpec.from_dict` round-trip through
JSON for storage.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

import dns.rdatatype

from checks.conditions import Condition, parse_condition
from checks.durations import format_duration, format_size, parse_duration, parse_size
from checks.errors import ConfigError

__all__ = [
    "KINDS",
    "ON_DOWN_STATUSES",
    "CheckSpec",
    "default_conditions",
    "parse_check_spec",
]

KINDS = ("http", "tcp", "dns", "tls", "heartbeat")
ON_DOWN_STATUSES = ("major_outage", "partial_outage", "degraded_performance")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DNS_RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "TXT", "SOA", "SRV", "CAA", "PTR")

MIN_INTERVAL_S = 5.0
MAX_INTERVAL_S = 7 * 86400.0
MAX_HEARTBEAT_INTERVAL_S = 366 * 86400.0
MAX_TIMEOUT_S = 120.0
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_INTERVAL_S = 60.0
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MAX_MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_CONDITIONS = 50

_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_HOST_RE = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})?)*\.?")

_COMMON = ("id", "kind", "interval", "failure_threshold", "success_threshold", "on_down")
_NETWORK = ("timeout", "reprobe_on_failure", "conditions")
FIELDS_BY_KIND: dict[str, frozenset[str]] = {
    "http": frozenset(
        _COMMON
        + _NETWORK
        + ("url", "method", "headers", "body", "follow_redirects", "verify_tls", "max_body_bytes")
    ),
    "tcp": frozenset(_COMMON + _NETWORK + ("host", "port", "send", "expect", "max_body_bytes")),
    "tls": frozenset(_COMMON + _NETWORK + ("host", "port", "verify_tls")),
    "dns": frozenset(_COMMON + _NETWORK + ("host", "record_type", "nameserver", "expected_answers")),
    "heartbeat": frozenset(_COMMON + ("grace",)),
}


@dataclass
class CheckSpec:
    """One validated check. Times are in seconds; build it with :func:`parse_check_spec`.

    ``conditions`` holds the conditions as written; :meth:`effective_conditions`
    adds the defaults and those implied by ``expect`` / ``expected_answers``.
    For ``dns``, ``host`` is the name to query; ``nameserver`` is ``"ip"`` or
    ``"ip:port"`` (``"[v6]:port"``), the system resolver when unset.
    """

    id: str
    kind: str
    url: str | None = None
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    follow_redirects: bool = True
    verify_tls: bool = True
    host: str | None = None
    port: int | None = None
    send: str | None = None
    expect: str | None = None
    record_type: str = "A"
    nameserver: str | None = None
    expected_answers: list[str] = field(default_factory=list)
    interval: float = DEFAULT_INTERVAL_S
    timeout: float = DEFAULT_TIMEOUT_S
    grace: float | None = None
    failure_threshold: int = 3
    success_threshold: int = 2
    on_down: str = "major_outage"
    reprobe_on_failure: bool = False
    conditions: list[str] = field(default_factory=list)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def effective_conditions(self) -> list[str]:
        """The conditions a probe evaluates: the written ones (or the kind's defaults) plus implied ones."""
        conditions = list(self.conditions) or default_conditions(self.kind, verify_tls=self.verify_tls)
        if self.kind == "tcp" and self.expect:
            conditions.append(f"[BODY] contains {_quote(self.expect)}")
        if self.kind == "dns":
            conditions.extend(f"[DNS_ANSWERS] contains {_quote(answer)}" for answer in self.expected_answers)
        return conditions

    def parsed_conditions(self) -> list[Condition]:
        """:meth:`effective_conditions`, parsed (cached by text, so cheap to call per run)."""
        return [parse_condition(text) for text in self.effective_conditions()]

    def nameserver_address(self) -> tuple[str, int] | None:
        """``(ip, port)`` of the configured nameserver, or ``None`` for the system resolver."""
        if not self.nameserver:
            return None
        return _split_nameserver(self.nameserver)

    def target(self) -> str:
        """A short human description of what is probed, e.g. ``tcp db.internal:5432``."""
        if self.kind == "http":
            return f"{self.method} {self.url}"
        if self.kind in ("tcp", "tls"):
            return f"{self.kind} {self.host}:{self.port}"
        if self.kind == "dns":
            return f"dns {self.record_type} {self.host}" + (f" @{self.nameserver}" if self.nameserver else "")
        return f"heartbeat every {format_duration(self.interval)}"

    def to_dict(self) -> dict[str, Any]:
        """Return every field as JSON-serializable data (see :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckSpec:
        """Rebuild a spec stored with :meth:`to_dict`; unknown keys (from newer versions) are ignored.

        This trusts its input (it was validated when first parsed); use
        :func:`parse_check_spec` for anything a person wrote.
        """
        if not isinstance(data, dict) or "id" not in data or "kind" not in data:
            raise ConfigError("a stored check spec needs at least id and kind")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["headers"] = dict(values.get("headers") or {})
        values["expected_answers"] = list(values.get("expected_answers") or [])
        values["conditions"] = list(values.get("conditions") or [])
        return cls(**values)


def default_conditions(kind: str, *, verify_tls: bool = True) -> list[str]:
    """The conditions used when a check of ``kind`` lists none."""
    if kind == "http":
        return ["[STATUS] < 400"]
    if kind == "tcp":
        return ["[CONNECTED] == true"]
    if kind == "dns":
        return ["[DNS_RCODE] == NOERROR"]
    if kind == "tls":
        defaults = ["[CONNECTED] == true", "[CERT_EXPIRY] > 0"]
        if verify_tls:
            defaults += ["[CERT_CHAIN_VALID] == true", "[CERT_HOSTNAME_MATCH] == true"]
        return defaults
    return []


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _split_nameserver(text: str) -> tuple[str, int]:
    host, port = text, 53
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ConfigError(f"invalid nameserver {text!r}: missing ]")
        host, rest = text[1:close], text[close + 1 :]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ConfigError(f"invalid nameserver {text!r}: expected [address]:port")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        if not port_text.isdigit():
            raise ConfigError(f"invalid nameserver {text!r}: port must be a number")
        port = int(port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"invalid nameserver {text!r}: must be an IP address, optionally with :port") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"invalid nameserver {text!r}: port must be 1-65535")
    return host, port


class _Collector:
    """Gathers (field, message) errors while reading one check entry."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def string(self, key: str, *, required: bool = False, allow_empty: bool = False) -> str | None:
        value = self.get(key)
        if value is None:
            if required:
                self.error(key, "required")
            return None
        if not isinstance(value, str):
            self.error(key, f"must be a string, not {_type_name(value)}")
            return None
        if not value and not allow_empty:
            self.error(key, "must not be empty")
            return None
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(key, f"must be true or false, not {value!r}")
            return default
        return value

    def integer(self, key: str, default: int | None, lo: int, hi: int) -> int | None:
        value = self.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value.strip())
            else:
                self.error(key, f"must be a whole number, not {value!r}")
                return default
        if not lo <= value <= hi:
            self.error(key, f"must be between {lo} and {hi}, not {value}")
            return default
        return value

    def duration(self, key: str, default: float | None) -> float | None:
        value = self.get(key)
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ConfigError as exc:
            self.error(key, str(exc))
            return default


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def parse_check_spec(data: dict[str, Any]) -> tuple[CheckSpec | None, list[tuple[str, str]]]:
    """Validate one check entry; return ``(spec, [])`` or ``(None, [(field, message), ...])``.

    Field paths are relative to the check, e.g. ``("interval", "must be at
    least 5s")`` or ``("conditions[1]", "unknown placeholder [STAUS] (did you
    mean [STATUS]?)")``. Every problem is reported, not only the first.
    Unknown keys and keys that the check's kind does not use are errors; a key
    whose value is ``null`` counts as absent. Never raises.
    """
    if not isinstance(data, dict):
        return None, [("", f"a check must be a mapping, not {_type_name(data)}")]
    c = _Collector(data)

    check_id = c.string("id", required=True)
    if check_id is not None and not _ID_RE.fullmatch(check_id):
        c.error("id", "must start with a letter or digit and use only letters, digits, '-', '_' and '.' (at most 100)")
    kind = c.string("kind", required=True)
    if kind is not None and kind not in KINDS:
        c.error("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
        kind = None

    all_fields = {f.name for f in fields(CheckSpec)}
    for key in data:
        if not isinstance(key, str):
            c.error(str(key), "keys must be strings")
        elif key not in all_fields:
            close = difflib.get_close_matches(key, sorted(all_fields), n=1)
            c.error(key, "unknown key" + (f" (did you mean {close[0]}?)" if close else ""))
        elif kind is not None and key not in FIELDS_BY_KIND[kind] and data[key] is not None:
            users = [k for k in KINDS if key in FIELDS_BY_KIND[k]]
            c.error(key, f"not used by kind {kind} (only by {', '.join(users)})")
    if kind is None:
        return None, c.errors

    values: dict[str, Any] = {"id": check_id or "", "kind": kind}
    is_heartbeat = kind == "heartbeat"

    # Schedule and thresholds.
    if is_heartbeat and not c.has("interval"):
        c.error("interval", "required for kind heartbeat (how often the job pings)")
    interval = c.duration("interval", DEFAULT_INTERVAL_S)
    max_interval = MAX_HEARTBEAT_INTERVAL_S if is_heartbeat else MAX_INTERVAL_S
    if interval is not None:
        if interval < MIN_INTERVAL_S:
            c.error("interval", f"must be at least {format_duration(MIN_INTERVAL_S)}")
        elif interval > max_interval:
            c.error("interval", f"must be at most {format_duration(max_interval)}")
        values["interval"] = interval
    default_threshold = 1 if is_heartbeat else None
    values["failure_threshold"] = c.integer("failure_threshold", default_threshold or 3, 1, 100)
    values["success_threshold"] = c.integer("success_threshold", default_threshold or 2, 1, 100)
    on_down = c.string("on_down")
    if on_down is not None:
        if on_down not in ON_DOWN_STATUSES:
            c.error("on_down", f"must be one of {', '.join(ON_DOWN_STATUSES)}, not {on_down!r}")
        else:
            values["on_down"] = on_down

    if is_heartbeat:
        default_grace = max(60.0, 0.1 * (interval or DEFAULT_INTERVAL_S))
        grace = c.duration("grace", default_grace)
        if grace is not None and grace > max_interval:
            c.error("grace", f"must be at most {format_duration(max_interval)}")
        values["grace"] = grace
    else:
        timeout = c.duration("timeout", None)
        if timeout is None:
            timeout = min(DEFAULT_TIMEOUT_S, interval or DEFAULT_TIMEOUT_S)
        elif timeout <= 0:
            c.error("timeout", "must be more than 0s")
        elif timeout > MAX_TIMEOUT_S:
            c.error("timeout", f"must be at most {format_duration(MAX_TIMEOUT_S)}")
        elif interval is not None and timeout > interval:
            c.error("timeout", f"must not exceed the interval ({format_duration(interval)})")
        values["timeout"] = timeout
        values["reprobe_on_failure"] = c.boolean("reprobe_on_failure", False)

    reader = {"http": _read_http, "tcp": _read_tcp, "tls": _read_tls, "dns": _read_dns}.get(kind)
    if reader is not None:
        reader(c, values)
        values["conditions"] = _read_conditions(c, kind)

    if c.errors:
        return None, c.errors
    spec = CheckSpec(**values)
    # Defaults and implied conditions are generated here; make sure they parse too.
    for text in spec.effective_conditions():
        try:
            parse_condition(text).validate_for_kind(kind)
        except ConfigError as exc:
            source = "expect" if kind == "tcp" and spec.expect else "expected_answers"
            c.error(source, str(exc))
    if c.errors:
        return None, c.errors
    return spec, []


def _read_http(c: _Collector, values: dict[str, Any]) -> None:
    url = c.string("url", required=True)
    if url is not None:
        problem = _url_problem(url)
        if problem:
            c.error("url", problem)
        else:
            values["url"] = url
    method = c.string("method")
    if method is not None:
        if method.upper() not in HTTP_METHODS:
            c.error("method", f"must be one of {', '.join(HTTP_METHODS)}, not {method!r}")
        else:
            values["method"] = method.upper()
    headers = c.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            c.error("headers", f"must be a mapping of name to value, not {_type_name(headers)}")
        else:
            clean: dict[str, str] = {}
            for name, value in headers.items():
                if not isinstance(name, str) or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                    c.error(f"headers.{name}", "invalid header name")
                elif isinstance(value, (dict, list)) or value is None:
                    c.error(f"headers.{name}", "value must be a string")
                elif "\n" in str(value) or "\r" in str(value):
                    c.error(f"headers.{name}", "value must be a single line")
                else:
                    clean[name] = str(value).lower() if isinstance(value, bool) else str(value)
            values["headers"] = clean
    body = c.string("body", allow_empty=True)
    if body is not None:
        values["body"] = body
    values["follow_redirects"] = c.boolean("follow_redirects", True)
    values["verify_tls"] = c.boolean("verify_tls", True)
    _read_max_body(c, values)


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"invalid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "must include a host name"
    if any(ch.isspace() for ch in url):
        return "must not contain spaces (percent-encode them)"
    return None


def _read_host(c: _Collector, values: dict[str, Any], what: str = "host") -> None:
    host = c.string("host", required=True)
    if host is None:
        return
    if not _valid_host(host):
        c.error("host", f"must be a {what} or an IP address, not {host!r}")
        return
    values["host"] = host


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return len(host) <= 253 and _HOST_RE.fullmatch(host) is not None


def _read_port(c: _Collector, values: dict[str, Any], default: int | None) -> None:
    port = c.integer("port", default, 1, 65535)
    if port is None:
        c.error("port", "required")
    values["port"] = port


def _read_max_body(c: _Collector, values: dict[str, Any]) -> None:
    raw = c.get("max_body_bytes")
    if raw is None:
        return
    try:
        size = parse_size(raw)
    except ConfigError as exc:
        c.error("max_body_bytes", str(exc))
        return
    if not 1 <= size <= MAX_MAX_BODY_BYTES:
        c.error("max_body_bytes", f"must be between 1B and {format_size(MAX_MAX_BODY_BYTES)}")
        return
    values["max_body_bytes"] = size


def _read_tcp(c: _Collector, values: dict[str, Any]) -> None:
    _read_host(c, values)
    _read_port(c, values, None)
    for key in ("send", "expect"):
        text = c.string(key)
        if text is not None:
            values[key] = text
    _read_max_body(c, values)


def _read_tls(c: _Collector, values: dict[str, Any]) -> None:
    _read_host(c, values)
    _read_port(c, values, 443)
    values["verify_tls"] = c.boolean("verify_tls", True)


def _read_dns(c: _Collector, values: dict[str, Any]) -> None:
    _read_host(c, values, what="domain name")
    record_type = c.string("record_type")
    if record_type is not None:
        upper = record_type.upper()
        if upper not in DNS_RECORD_TYPES:
            c.error("record_type", f"must be one of {', '.join(DNS_RECORD_TYPES)}, not {record_type!r}")
        else:
            dns.rdatatype.from_text(upper)
            values["record_type"] = upper
    nameserver = c.string("nameserver")
    if nameserver is not None:
        try:
            _split_nameserver(nameserver)
            values["nameserver"] = nameserver
        except ConfigError as exc:
            c.error("nameserver", str(exc))
    answers = c.get("expected_answers")
    if answers is not None:
        if not isinstance(answers, list):
            c.error("expected_answers", f"must be a list, not {_type_name(answers)}")
        else:
            clean = []
            for i, answer in enumerate(answers):
                if isinstance(answer, bool) or not isinstance(answer, (str, int, float)) or answer == "":
                    c.error(f"expected_answers[{i}]", "must be a non-empty string")
                else:
                    clean.append(str(answer))
            values["expected_answers"] = clean


def _read_conditions(c: _Collector, kind: str) -> list[str]:
    raw = c.get("conditions")
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        c.error("conditions", f"must be a list of strings, not {_type_name(raw)}")
        return []
    if len(raw) > MAX_CONDITIONS:
        c.error("conditions", f"at most {MAX_CONDITIONS} conditions per check")
        return []
    out: list[str] = []
    for i, text in enumerate(raw):
        try:
            condition = parse_condition(text)
            condition.validate_for_kind(kind)
        except ConfigError as exc:
            c.error(f"conditions[{i}]", str(exc))
            continue
        out.append(text)
    return out
