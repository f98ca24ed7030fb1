"""Check specs: validation with field paths, defaults, and JSON round-trips."""

from __future__ import annotations

import json

import pytest

from checks.errors import ConfigError
from checks.spec import CheckSpec, default_conditions, parse_check_spec

HTTP = {"id": "api-health", "kind": "http", "url": "https://api.example.com/healthz"}


def parse_ok(data: dict) -> CheckSpec:
    spec, errors = parse_check_spec(data)
    assert errors == []
    assert spec is not None
    return spec


def test_it_reads_a_full_http_check():
    spec = parse_ok(
        {
            **HTTP,
            "method": "post",
            "headers": {"Accept": "application/json", "X-Count": 5},
            "body": '{"ping": true}',
            "interval": "30s",
            "timeout": "5s",
            "failure_threshold": 4,
            "success_threshold": 1,
            "on_down": "partial_outage",
            "follow_redirects": False,
            "verify_tls": False,
            "reprobe_on_failure": True,
            "max_body_bytes": "64KiB",
            "conditions": ["[STATUS] == 200", "[RESPONSE_TIME] < 800 => degraded"],
        }
    )
    assert spec.method == "POST"
    assert spec.headers == {"Accept": "application/json", "X-Count": "5"}
    assert (spec.interval, spec.timeout) == (30.0, 5.0)
    assert (spec.failure_threshold, spec.success_threshold) == (4, 1)
    assert spec.max_body_bytes == 65536
    assert spec.effective_conditions() == ["[STATUS] == 200", "[RESPONSE_TIME] < 800 => degraded"]
    assert [c.severity for c in spec.parsed_conditions()] == ["down", "degraded"]


def test_defaults():
    spec = parse_ok(HTTP)
    assert spec.interval == 60 and spec.timeout == 10
    assert spec.failure_threshold == 3 and spec.success_threshold == 2
    assert spec.on_down == "major_outage" and spec.follow_redirects and spec.verify_tls
    assert spec.max_body_bytes == 1024 * 1024
    assert spec.effective_conditions() == ["[STATUS] < 400"]
    assert parse_ok({**HTTP, "interval": "5s"}).timeout == 5


SPEC_ERROR_CASES = [
        ({"kind": "http", "url": "http://x"}, ("id", "required")),
        ({"id": "a b", "kind": "tcp", "host": "h", "port": 1}, ("id", "must start with a letter")),
        ({"id": "x"}, ("kind", "required")),
        ({"id": "x", "kind": "ftp"}, ("kind", "must be one of")),
        ({"id": "x", "kind": "http"}, ("url", "required")),
        ({**HTTP, "url": "ftp://x"}, ("url", "must start with http:// or https://")),
        ({**HTTP, "url": "https://"}, ("url", "must include a host")),
        ({**HTTP, "url": "http://x:99999/"}, ("url", "invalid URL")),
        ({**HTTP, "interval": "1s"}, ("interval", "must be at least 5s")),
        ({**HTTP, "interval": "30d"}, ("interval", "must be at most 7d")),
        ({**HTTP, "interval": "soon"}, ("interval", "invalid duration 'soon'")),
        ({**HTTP, "timeout": "2m"}, ("timeout", "must not exceed the interval")),
        ({**HTTP, "timeout": 0}, ("timeout", "more than 0s")),
        ({**HTTP, "failure_threshold": 0}, ("failure_threshold", "between 1 and 100")),
        ({**HTTP, "success_threshold": "two"}, ("success_threshold", "whole number")),
        ({**HTTP, "failure_threshold": True}, ("failure_threshold", "whole number")),
        ({**HTTP, "on_down": "down"}, ("on_down", "must be one of major_outage")),
        ({**HTTP, "method": "FETCH"}, ("method", "must be one of")),
        ({**HTTP, "headers": ["Accept"]}, ("headers", "must be a mapping")),
        ({**HTTP, "headers": {"Bad Name": "x"}}, ("headers.Bad Name", "invalid header name")),
        ({**HTTP, "headers": {"X-A": "a\nb"}}, ("headers.X-A", "single line")),
        ({**HTTP, "follow_redirects": "yes"}, ("follow_redirects", "true or false")),
        ({**HTTP, "max_body_bytes": "100GiB"}, ("max_body_bytes", "between 1B and 64MiB")),
        ({**HTTP, "conditions": "[STAUS] == 200"}, ("conditions[0]", "did you mean [STATUS]?")),
        ({**HTTP, "conditions": ["[STATUS] == 200", "[STAUS] == 200"]}, ("conditions[1]", "unknown placeholder [STAUS]")),
        ({**HTTP, "conditions": ["[DNS_RCODE] == NOERROR"]}, ("conditions[0]", "not available for kind http")),
        ({**HTTP, "conditions": {"a": 1}}, ("conditions", "must be a list")),
        ({**HTTP, "conditions": [["STATUS"]]}, ("conditions[0]", "quote conditions")),
        ({**HTTP, "intervall": "30s"}, ("intervall", "unknown key (did you mean interval?)")),
        ({**HTTP, "host": "example.com"}, ("host", "not used by kind http (only by tcp, dns, tls)")),
        ({"id": "db", "kind": "tcp", "port": 5432}, ("host", "required")),
        ({"id": "db", "kind": "tcp", "host": "db"}, ("port", "required")),
        ({"id": "db", "kind": "tcp", "host": "db", "port": 70000}, ("port", "between 1 and 65535")),
        ({"id": "db", "kind": "tcp", "host": "db", "port": "٣"}, ("port", "whole number")),
        ({**HTTP, "max_body_bytes": "²"}, ("max_body_bytes", "invalid size")),
        ({**HTTP, "max_body_bytes": "1" * 400 + "GB"}, ("max_body_bytes", "too long")),
        ({**HTTP, "interval": "٣٠s"}, ("interval", "invalid duration")),
        ({"id": "db", "kind": "tcp", "host": "bad host!", "port": 1}, ("host", "must be a host")),
        ({"id": "db", "kind": "tcp", "host": "db", "port": 1, "url": "http://x"}, ("url", "not used by kind tcp")),
        ({"id": "d", "kind": "dns", "host": "example.com", "record_type": "BOGUS"}, ("record_type", "must be one of")),
        ({"id": "d", "kind": "dns", "host": "example.com", "nameserver": "dns.google"}, ("nameserver", "must be an IP")),
        ({"id": "d", "kind": "dns", "host": "example.com", "expected_answers": "1.2.3.4"}, ("expected_answers", "must be a list")),
        ({"id": "d", "kind": "dns", "host": "example.com", "expected_answers": [""]}, ("expected_answers[0]", "non-empty")),
        ({"id": "hb", "kind": "heartbeat"}, ("interval", "required for kind heartbeat")),
        ({"id": "hb", "kind": "heartbeat", "interval": "1h", "timeout": "5s"}, ("timeout", "not used by kind heartbeat")),
        ({"id": "hb", "kind": "heartbeat", "interval": "1h", "conditions": ["[STATUS] == 200"]}, ("conditions", "not used")),
        ({"id": "hb", "kind": "heartbeat", "interval": "1h", "grace": "-1m"}, ("grace", "invalid duration")),
]


@pytest.mark.parametrize(
    ("data", "expected"),
    SPEC_ERROR_CASES,
    ids=[f"{data.get('kind', 'no-kind')}-{field}: {message}" for data, (field, message) in SPEC_ERROR_CASES],
)
def test_it_reports_each_problem_with_its_field(data, expected):
    spec, errors = parse_check_spec(data)
    assert spec is None
    assert any(path == expected[0] and expected[1] in message for path, message in errors), errors


def test_it_reports_every_problem_at_once():
    _, errors = parse_check_spec({**HTTP, "interval": "1s", "on_down": "x", "conditions": ["[X] == 1"]})
    assert [path for path, _ in errors] == ["interval", "on_down", "conditions[0]"]


def test_a_non_mapping_is_an_error_not_an_exception():
    assert parse_check_spec(["x"]) == (None, [("", "a check must be a mapping, not a list")])


def test_null_values_count_as_absent():
    spec = parse_ok({**HTTP, "timeout": None, "host": None})
    assert spec.timeout == 10


@pytest.mark.parametrize(
    ("data", "conditions"),
    [
        ({"id": "db", "kind": "tcp", "host": "10.0.0.5", "port": 5432}, ["[CONNECTED] == true"]),
        (
            {"id": "redis", "kind": "tcp", "host": "r", "port": 6379, "send": "PING\r\n", "expect": "+PONG"},
            ["[CONNECTED] == true", '[BODY] contains "+PONG"'],
        ),
        ({"id": "d", "kind": "dns", "host": "example.com"}, ["[DNS_RCODE] == NOERROR"]),
        (
            {"id": "d", "kind": "dns", "host": "example.com", "expected_answers": ["1.2.3.4"],
             "conditions": ["[DNS_RCODE] == NOERROR"]},
            ["[DNS_RCODE] == NOERROR", '[DNS_ANSWERS] contains "1.2.3.4"'],
        ),
        (
            {"id": "cert", "kind": "tls", "host": "example.com"},
            ["[CONNECTED] == true", "[CERT_EXPIRY] > 0", "[CERT_CHAIN_VALID] == true", "[CERT_HOSTNAME_MATCH] == true"],
        ),
        (
            {"id": "cert", "kind": "tls", "host": "example.com", "verify_tls": False},
            ["[CONNECTED] == true", "[CERT_EXPIRY] > 0"],
        ),
    ],
    ids=["tcp", "tcp-expect", "dns", "dns-expected-answers", "tls", "tls-no-verify"],
)
def test_effective_conditions(data, conditions):
    spec = parse_ok(data)
    assert spec.effective_conditions() == conditions
    assert len(spec.parsed_conditions()) == len(conditions)


def test_tls_port_defaults_to_443_and_dns_reads_its_nameserver():
    assert parse_ok({"id": "c", "kind": "tls", "host": "example.com"}).port == 443
    spec = parse_ok({"id": "d", "kind": "dns", "host": "example.com", "record_type": "aaaa", "nameserver": "127.0.0.1:5353"})
    assert spec.record_type == "AAAA"
    assert spec.nameserver_address() == ("127.0.0.1", 5353)
    assert CheckSpec(id="d", kind="dns", nameserver="[::1]:5300").nameserver_address() == ("::1", 5300)
    assert CheckSpec(id="d", kind="dns", nameserver="::1").nameserver_address() == ("::1", 53)


def test_heartbeat_defaults():
    spec = parse_ok({"id": "nightly", "kind": "heartbeat", "interval": "24h", "grace": "1h"})
    assert (spec.interval, spec.grace) == (86400, 3600)
    assert (spec.failure_threshold, spec.success_threshold) == (1, 1)
    assert spec.effective_conditions() == []
    assert parse_ok({"id": "nightly", "kind": "heartbeat", "interval": "24h"}).grace == 8640
    assert parse_ok({"id": "often", "kind": "heartbeat", "interval": "5m"}).grace == 60


@pytest.mark.parametrize(
    "data",
    [
        {**HTTP, "headers": {"A": "b"}, "conditions": ["[STATUS] == 200"], "interval": "30s"},
        {"id": "d", "kind": "dns", "host": "example.com", "expected_answers": ["1.2.3.4"]},
        {"id": "hb", "kind": "heartbeat", "interval": "1d"},
    ],
    ids=["http", "dns", "heartbeat"],
)
def test_to_dict_from_dict_round_trip_through_json(data):
    spec = parse_ok(data)
    stored = json.loads(json.dumps(spec.to_dict()))
    assert CheckSpec.from_dict(stored) == spec
    assert CheckSpec.from_dict({**stored, "added_in_a_later_version": 1}) == spec


def test_from_dict_needs_id_and_kind():
    with pytest.raises(ConfigError):
        CheckSpec.from_dict({"url": "http://x"})


def test_default_conditions_for_unknown_kinds_are_empty():
    assert default_conditions("heartbeat") == []


def test_target_describes_the_probe():
    assert parse_ok(HTTP).target() == "GET https://api.example.com/healthz"
    assert parse_ok({"id": "db", "kind": "tcp", "host": "db", "port": 5432}).target() == "tcp db:5432"
