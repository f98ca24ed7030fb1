"""Check specifications: what to probe, how often, and what counts as healthy.

:func:`parse_check_spec` validates one check entry of the configuration file
(a plain dict) and returns every problem at once, each with the field it is
about, so a config loader can report ``components[0].checks[2].interval: must
be at least 5s``. :class:`CheckSpec` is the validated result; its
:meth:`CheckSpec.to_dict` and :meth:`CheckSpec.from_dict` round-trip through
JSON for storage.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import dns.rdatatype

from checks.conditions import Condition, parse_condition
from checks.durations import format_duration, format_size, parse_size
from checks.errors import ConfigError
from checks.validation import Fields, as_choice, did_you_mean, kind_of

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
_NETWORK = ("timeout", "reprobe_on_failure", "conditions", "locations", "quorum", "on_partial")
ON_PARTIAL = ("none", "degraded_performance")
LOCATION_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
MAX_LOCATIONS = 20
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
    # Where it is probed from and how many fresh locations must agree (issue 14); [] = the local worker.
    locations: list[str] = field(default_factory=list)
    quorum: int | None = None  # None: a majority of the locations
    on_partial: str = "none"

    def effective_quorum(self) -> int:
        """Fresh locations that must agree before the check is down or degraded (default: a majority)."""
        count = max(1, len(self.locations))
        return self.quorum if self.quorum is not None else count // 2 + 1

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
        values["locations"] = list(values.get("locations") or [])
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


def parse_check_spec(data: dict[str, Any]) -> tuple[CheckSpec | None, list[tuple[str, str]]]:
    """Validate one check entry; return ``(spec, [])`` or ``(None, [(field, message), ...])``.

    Field paths are relative to the check, e.g. ``("interval", "must be at
    least 5s")`` or ``("conditions[1]", "unknown placeholder [STAUS] (did you
    mean [STATUS]?)")``. Every problem is reported, not only the first.
    Unknown keys and keys that the check's kind does not use are errors; a key
    whose value is ``null`` counts as absent. Never raises.
    """
    if not isinstance(data, dict):
        return None, [("", f"a check must be a mapping, not {kind_of(data)}")]
    c = Fields(data)

    check_id = c.text("id", required=True)
    if check_id is not None and not _ID_RE.fullmatch(check_id):
        c.error("id", "must start with a letter or digit and use only letters, digits, '-', '_' and '.' (at most 100)")
    kind = c.choice("kind", KINDS, required=True)

    all_fields = {f.name for f in fields(CheckSpec)}
    for key in data:
        if not isinstance(key, str):
            c.error(str(key), "keys must be strings")
        elif key not in all_fields:
            c.error(key, f"unknown key{did_you_mean(key, all_fields)}")
        elif kind is not None and key not in FIELDS_BY_KIND[kind] and data[key] is not None:
            users = [k for k in KINDS if key in FIELDS_BY_KIND[k]]
            c.error(key, f"not used by kind {kind} (only by {', '.join(users)})")
    if kind is None:
        return None, c.errors.problems

    values: dict[str, Any] = {"id": check_id or "", "kind": kind}
    is_heartbeat = kind == "heartbeat"

    # Schedule and thresholds.
    if is_heartbeat and not c.has("interval"):
        c.error("interval", "required for kind heartbeat (how often the job pings)")
    max_interval = MAX_HEARTBEAT_INTERVAL_S if is_heartbeat else MAX_INTERVAL_S
    interval = c.duration("interval", DEFAULT_INTERVAL_S, minimum=MIN_INTERVAL_S, maximum=max_interval)
    values["interval"] = interval
    default_threshold = 1 if is_heartbeat else None
    values["failure_threshold"] = c.integer("failure_threshold", 1, 100, default=default_threshold or 3,
                                            text_ok=True)
    values["success_threshold"] = c.integer("success_threshold", 1, 100, default=default_threshold or 2,
                                            text_ok=True)
    values["on_down"] = c.choice("on_down", ON_DOWN_STATUSES, default="major_outage")

    if is_heartbeat:
        values["grace"] = c.duration("grace", max(60.0, 0.1 * interval), maximum=max_interval)
    else:
        timeout = c.duration("timeout", None, maximum=MAX_TIMEOUT_S)
        if timeout is None:
            timeout = min(DEFAULT_TIMEOUT_S, interval)
        elif timeout <= 0:
            c.error("timeout", "must be more than 0s")
        elif timeout > interval:
            c.error("timeout", f"must not exceed the interval ({format_duration(interval)})")
        values["timeout"] = timeout
        values["reprobe_on_failure"] = c.boolean("reprobe_on_failure", False)
        _read_locations(c, values)

    reader = {"http": _read_http, "tcp": _read_tcp, "tls": _read_tls, "dns": _read_dns}.get(kind)
    if reader is not None:
        reader(c, values)
        values["conditions"] = _read_conditions(c, kind)

    if c.errors:
        return None, c.errors.problems
    spec = CheckSpec(**values)
    # Defaults and implied conditions are generated here; make sure they parse too.
    for text in spec.effective_conditions():
        try:
            parse_condition(text).validate_for_kind(kind)
        except ConfigError as exc:
            source = "expect" if kind == "tcp" and spec.expect else "expected_answers"
            c.error(source, str(exc))
    if c.errors:
        return None, c.errors.problems
    return spec, []


def _read_locations(c: Fields, values: dict[str, Any]) -> None:
    locations: list[str] = []
    raw = c.get("locations")
    if raw is not None and not isinstance(raw, list):
        c.error("locations", f"must be a list of location names, not {kind_of(raw)}")
        raw = []
    for i, name in enumerate(raw or []):
        if not isinstance(name, str) or not LOCATION_RE.fullmatch(name.strip()):
            c.error(f"locations[{i}]", "must be a location name: lowercase letters, digits and . _ - (at most 64)")
        elif name.strip() in locations:
            c.error(f"locations[{i}]", f"{name.strip()!r} is listed twice")
        else:
            locations.append(name.strip())
    if len(locations) > MAX_LOCATIONS:
        c.error("locations", f"at most {MAX_LOCATIONS} locations")
    values["locations"] = locations
    count = max(1, len(locations))
    quorum = c.integer("quorum", 1, 1000, default=None, text_ok=True)
    if quorum is not None and quorum > count:
        where = f"the {count} locations listed" if locations else "the one location (the local worker) probing it"
        c.error("quorum", f"{quorum} is larger than {where}")
    values["quorum"] = quorum
    values["on_partial"] = c.choice("on_partial", ON_PARTIAL, default="none")


def _read_http(c: Fields, values: dict[str, Any]) -> None:
    url = c.url("url", required=True)
    if url is not None:
        values["url"] = url
    method = c.text("method", allow_empty=False)
    if method is not None:
        values["method"] = c.errors.check(c.path_of("method"), as_choice, method.upper(), HTTP_METHODS) or "GET"
    headers = c.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            c.error("headers", f"must be a mapping of name to value, not {kind_of(headers)}")
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
    body = c.text("body")
    if body is not None:
        values["body"] = body
    values["follow_redirects"] = c.boolean("follow_redirects", True)
    values["verify_tls"] = c.boolean("verify_tls", True)
    _read_max_body(c, values)


def _read_host(c: Fields, values: dict[str, Any], what: str = "host") -> None:
    host = c.text("host", required=True)
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


def _read_port(c: Fields, values: dict[str, Any], default: int | None) -> None:
    port = c.integer("port", 1, 65535, default=default, text_ok=True)
    if port is None and not c.has("port"):
        c.error("port", "required")
    values["port"] = port


def _read_max_body(c: Fields, values: dict[str, Any]) -> None:
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


def _read_tcp(c: Fields, values: dict[str, Any]) -> None:
    _read_host(c, values)
    _read_port(c, values, None)
    for key in ("send", "expect"):
        text = c.text(key, allow_empty=False)
        if text is not None:
            values[key] = text
    _read_max_body(c, values)


def _read_tls(c: Fields, values: dict[str, Any]) -> None:
    _read_host(c, values)
    _read_port(c, values, 443)
    values["verify_tls"] = c.boolean("verify_tls", True)


def _read_dns(c: Fields, values: dict[str, Any]) -> None:
    _read_host(c, values, what="domain name")
    record_type = c.text("record_type", allow_empty=False)
    if record_type is not None:
        upper = c.errors.check(c.path_of("record_type"), as_choice, record_type.upper(), DNS_RECORD_TYPES)
        if upper is not None:
            dns.rdatatype.from_text(upper)
            values["record_type"] = upper
    nameserver = c.text("nameserver", allow_empty=False)
    if nameserver is not None:
        try:
            _split_nameserver(nameserver)
            values["nameserver"] = nameserver
        except ConfigError as exc:
            c.error("nameserver", str(exc))
    answers = c.get("expected_answers")
    if answers is not None:
        if not isinstance(answers, list):
            c.error("expected_answers", f"must be a list, not {kind_of(answers)}")
        else:
            clean = []
            for i, answer in enumerate(answers):
                if isinstance(answer, bool) or not isinstance(answer, (str, int, float)) or answer == "":
                    c.error(f"expected_answers[{i}]", "must be a non-empty string")
                else:
                    clean.append(str(answer))
            values["expected_answers"] = clean


def _read_conditions(c: Fields, kind: str) -> list[str]:
    raw = c.get("conditions")
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        c.error("conditions", f"must be a list of strings, not {kind_of(raw)}")
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
