"""The condition language, table-driven: one row per case, the case as its id."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.conditions import Observation, evaluate_conditions, parse_condition, summarize
from checks.errors import ConfigError

BODY = {
    "status": "ok",
    "count": 3,
    "ratio": 0.75,
    "enabled": True,
    "nothing": None,
    "version": "1.10",
    "zip": "01234",
    "numeric_text": "42",
    "uptime": "3h",
    "data": {"items": [{"state": "ok", "id": 7}, {"state": "degraded", "id": 8}]},
    "key.with.dots": "dotted",
    "tags": ["eu", "prod"],
    "empty": [],
}

OBSERVATIONS = {
    "http": Observation(
        kind="http",
        status=200,
        response_time_ms=123.4,
        body=json.dumps(BODY).encode(),
        headers={"Content-Type": "application/json; charset=utf-8", "X-Request-Id": "abc-123"},
        connected=True,
        ip="127.0.0.1",
        cert_expiry_s=30 * 86400.0,
    ),
    "http503": Observation(kind="http", status=503, response_time_ms=2500.0, body=b"Service Unavailable"),
    "html": Observation(kind="http", status=200, response_time_ms=10.0, body=b"<html>OK</html>", headers={}),
    "truncated": Observation(kind="http", status=200, response_time_ms=10.0, body=b'{"a": [1, 2', body_truncated=True),
    "no_response": Observation(kind="http", connected=False),
    "tcp": Observation(kind="tcp", connected=True, ip="10.0.0.5", response_time_ms=3.0, body=b"+PONG\r\n"),
    "tcp_refused": Observation(kind="tcp", connected=False, ip="10.0.0.5", response_time_ms=1.0),
    "dns": Observation(kind="dns", dns_rcode="NOERROR", dns_answers=["10.0.0.1", "10.0.0.2"], response_time_ms=2.0),
    "nxdomain": Observation(kind="dns", dns_rcode="NXDOMAIN", dns_answers=[], response_time_ms=2.0),
    "tls": Observation(
        kind="tls", connected=True, cert_expiry_s=10 * 86400.0, cert_chain_valid=False, cert_hostname_match=True
    ),
    "expired": Observation(kind="tls", connected=True, cert_expiry_s=-2 * 86400.0, cert_chain_valid=False),
}

# (id, condition, observation, ok, text expected in resolved or, for failures with an error, in the error)
EVALUATION_CASES = [
    ("status-equal", "[STATUS] == 200", "http", True, "[STATUS] (200) == 200"),
    ("status-mismatch-shows-value", "[STATUS] == 200", "http503", False, "[STATUS] (503) == 200"),
    ("status-not-equal", "[STATUS] != 500", "http", True, "(200)"),
    ("status-less-than", "[STATUS] < 400", "http503", False, "[STATUS] (503) < 400"),
    ("status-range-and", "[STATUS] >= 200 && [STATUS] < 300", "http", True, "&&"),
    ("status-or-second-branch", "[STATUS] == 204 || [STATUS] == 200", "http", True, "||"),
    ("status-or-neither", "[STATUS] == 204 || [STATUS] == 201", "http", False, "[STATUS] (200) == 204 || [STATUS] (200) == 201"),
    ("status-matches-class", "[STATUS] matches ^2", "http", True, "matches"),
    ("status-without-response", "[STATUS] == 200", "no_response", False, "no HTTP response"),
    ("response-time-ms", "[RESPONSE_TIME] < 800", "http", True, "[RESPONSE_TIME] (123.4) < 800"),
    ("response-time-slow", "[RESPONSE_TIME] < 800", "http503", False, "(2500)"),
    ("response-time-duration-literal", "[RESPONSE_TIME] < 1s", "http", True, "< 1s"),
    ("response-time-duration-literal-slow", "[RESPONSE_TIME] <= 2s", "http503", False, "<= 2s"),
    ("body-path-string", "[BODY].status == ok", "http", True, "[BODY].status (ok) == ok"),
    ("body-path-quoted-string", '[BODY].status == "ok"', "http", True, "(ok)"),
    ("body-path-mismatch", "[BODY].status == down", "http", False, "[BODY].status (ok) == down"),
    ("body-nested-index", "[BODY].data.items[0].state == ok", "http", True, "(ok)"),
    ("body-negative-index", "[BODY].data.items[-1].state == degraded", "http", True, "(degraded)"),
    ("body-dotted-index", "[BODY].data.items.1.id == 8", "http", True, "(8)"),
    ("body-quoted-key", '[BODY]["key.with.dots"] == dotted', "http", True, "(dotted)"),
    ("body-number-compare", "[BODY].count > 2", "http", True, "[BODY].count (3) > 2"),
    ("body-float-compare", "[BODY].ratio >= 0.75", "http", True, "(0.75)"),
    ("body-numeric-text-compare", "[BODY].numeric_text < 100", "http", True, "(42)"),
    ("body-text-vs-number-fails-clearly", "[BODY].status < 5", "http", False, "ok is not a number"),
    ("body-object-vs-number-fails", "[BODY].data > 1", "http", False, "is not a number"),
    ("body-bool-true", "[BODY].enabled == true", "http", True, "(true)"),
    ("body-bool-bare", "[BODY].enabled", "http", True, "(true)"),
    ("body-bare-not-bool", "[BODY].count", "http", False, "not true or false"),
    ("body-null", "[BODY].nothing == null", "http", True, "(null)"),
    ("body-version-text-kept", "[BODY].version == 1.10", "http", True, "(1.10)"),
    ("body-leading-zero-text", "[BODY].zip == 01234", "http", True, "(01234)"),
    ("body-duration-text", "[BODY].uptime > 1h", "http", True, "(3h)"),
    ("body-number-vs-duration-no-unit", "[BODY].count > 1h", "http", False, "no unit"),
    ("body-missing-key", "[BODY].nope == 1", "http", False, "has no key 'nope'"),
    ("body-index-out-of-range", "[BODY].data.items[5].state == ok", "http", False, "no index 5"),
    ("body-key-on-string", "[BODY].status.deeper == x", "http", False, "which has no 'deeper'"),
    ("body-invalid-json", "[BODY].status == ok", "html", False, "body is not valid JSON"),
    ("body-truncated-json-says-so", "[BODY].a == 1", "truncated", False, "cut at 11 bytes"),
    ("body-raw-contains", "[BODY] contains OK", "html", True, "[BODY] (<html>OK</html>) contains OK"),
    ("body-raw-not-contains", "[BODY] not contains error", "html", True, "not contains"),
    ("body-raw-not-contains-fails", '[BODY] not contains "OK"', "html", False, "not contains"),
    ("body-raw-matches", '[BODY] matches "<html>\\w+</html>"', "html", True, "matches"),
    ("body-raw-not-matches", "[BODY] not matches ^ERROR", "html", True, "not matches"),
    ("body-list-contains", "[BODY].tags contains prod", "http", True, "contains prod"),
    ("body-list-not-contains", "[BODY].tags not contains staging", "http", True, "not contains"),
    ("body-object-contains-key", "[BODY].data contains items", "http", True, "contains items"),
    ("body-list-matches-error", "[BODY].tags matches eu", "http", False, "is a list, not text"),
    ("body-absent-for-failed-request", "[BODY].status == ok", "no_response", False, "no body was received"),
    ("len-list", "len([BODY].data.items) == 2", "http", True, "len([BODY].data.items) (2) == 2"),
    ("len-empty-list", "len([BODY].empty) > 0", "http", False, "(0)"),
    ("len-raw-body-bytes", "len([BODY]) < 1KB", "html", True, "len([BODY]) (15) < 1KB"),
    ("len-of-number-fails", "len([BODY].count) > 0", "http", False, "len() needs text"),
    ("has-present", "has([BODY].data.items)", "http", True, "(true)"),
    ("has-absent", "has([BODY].nope)", "http", False, "has([BODY].nope) (false)"),
    ("has-absent-equals-false", "has([BODY].nope) == false", "http", True, "(false) == false"),
    ("has-on-invalid-json-is-an-error", "has([BODY].x) == false", "html", False, "not valid JSON"),
    ("has-header", "has([HEADER:x-request-id])", "http", True, "(true)"),
    ("header-case-insensitive", "[HEADER:content-type] contains json", "http", True, "(application/json; charset=utf-8)"),
    ("header-equal", "[HEADER:X-Request-Id] == abc-123", "http", True, "(abc-123)"),
    ("header-missing", "[HEADER:X-Missing] == 1", "http", False, "no X-Missing header"),
    ("connected-true", "[CONNECTED] == true", "tcp", True, "[CONNECTED] (true) == true"),
    ("connected-refused", "[CONNECTED] == true", "tcp_refused", False, "[CONNECTED] (false) == true"),
    ("connected-bare", "[CONNECTED]", "tcp", True, "(true)"),
    ("port-should-be-closed", "[CONNECTED] == false", "tcp_refused", True, "(false)"),
    ("tcp-banner", "[BODY] contains PONG", "tcp", True, "contains PONG"),
    ("ip-equal", "[IP] == 10.0.0.5", "tcp", True, "[IP] (10.0.0.5) == 10.0.0.5"),
    ("ip-prefix-regex", '[IP] matches "^10\\."', "tcp", True, "matches"),
    ("dns-rcode", "[DNS_RCODE] == NOERROR", "dns", True, "[DNS_RCODE] (NOERROR) == NOERROR"),
    ("dns-rcode-lowercase-literal", "[DNS_RCODE] == noerror", "dns", True, "(NOERROR)"),
    ("dns-rcode-nxdomain", "[DNS_RCODE] == NOERROR", "nxdomain", False, "(NXDOMAIN)"),
    ("dns-answers-contains", "[DNS_ANSWERS] contains 10.0.0.2", "dns", True, '["10.0.0.1", "10.0.0.2"]'),
    ("dns-answers-missing", '[DNS_ANSWERS] contains "10.0.0.9"', "dns", False, "contains"),
    ("dns-answers-count", "len([DNS_ANSWERS]) >= 2", "dns", True, "(2)"),
    ("cert-expiry-duration", "[CERT_EXPIRY] > 72h", "tls", True, "[CERT_EXPIRY] (10d) > 72h"),
    ("cert-expiry-too-soon", "[CERT_EXPIRY] > 14d", "tls", False, "(10d) > 14d"),
    ("cert-expired-negative", "[CERT_EXPIRY] > 0", "expired", False, "[CERT_EXPIRY] (-2d) > 0"),
    ("cert-expiry-works-without-chain", "[CERT_EXPIRY] > 1d", "expired", False, "(-2d)"),
    ("cert-expiry-on-https", "[CERT_EXPIRY] >= 30d", "http", True, "(30d)"),
    ("cert-expiry-on-plain-http", "[CERT_EXPIRY] > 1d", "html", False, "no TLS certificate"),
    ("cert-chain", "[CERT_CHAIN_VALID] == true", "tls", False, "(false)"),
    ("cert-hostname", "[CERT_HOSTNAME_MATCH]", "tls", True, "(true)"),
    ("and-error-is-reported", "[STATUS] == 200 && [BODY].nope == 1", "http", False, "has no key"),
    ("or-error-ignored-when-other-side-passes", "[BODY].nope == 1 || [STATUS] == 200", "http", True, "||"),
]


@pytest.mark.parametrize(
    ("text", "observation", "ok", "expected"),
    [case[1:] for case in EVALUATION_CASES],
    ids=[case[0] for case in EVALUATION_CASES],
)
def test_condition_evaluation(text, observation, ok, expected):
    result = parse_condition(text).evaluate(OBSERVATIONS[observation])
    assert result.ok is ok, result.message
    assert expected in result.message
    if ok:
        assert result.error is None
    assert result.text == text


# (id, condition, text expected in the ConfigError message)
PARSE_ERROR_CASES = [
    ("empty", "", "empty"),
    ("blank", "   ", "empty"),
    ("misspelled-placeholder", "[STAUS] == 200", "unknown placeholder [STAUS] (did you mean [STATUS]?)"),
    ("unknown-placeholder", "[FOO] == 1", "unknown placeholder [FOO]"),
    ("unterminated-placeholder", "[STATUS == 200", "missing ]"),
    ("single-equals", "[STATUS] = 200", "use =="),
    ("bang-alone", "[STATUS] ! 200", "use !="),
    ("single-pipe", "[STATUS] == 200 | [STATUS] == 201", "use || or &&"),
    ("missing-operator", "[STATUS] 200", "expected an operator"),
    ("missing-right-side", "[STATUS] ==", "the condition ends there"),
    ("trailing-garbage", "[STATUS] == 200 200", "unexpected '200'"),
    ("two-constants", "1 == 1", "compares two constants"),
    ("literal-alone", "true", "is not a condition"),
    ("number-placeholder-alone", "[STATUS]", "is a number, not true/false"),
    ("status-vs-word", "[STATUS] == abc", "[STATUS] is a number; abc is not"),
    ("status-vs-duration", "[STATUS] < 5m", "is a number"),
    ("ordering-text-placeholder", "[IP] > 5", "needs numbers or durations"),
    ("ordering-text-literal", "[BODY].x < abc", "needs a number or a duration"),
    ("ordering-list", "[DNS_ANSWERS] > 1", "is a list"),
    ("equality-list", "[DNS_ANSWERS] == 10.0.0.1", "use contains"),
    ("cert-expiry-bare-number", "[CERT_EXPIRY] > 72", "give 72 a unit"),
    ("cert-expiry-vs-text", "[CERT_EXPIRY] > soon", "needs a number or a duration"),
    ("response-time-vs-size", "[RESPONSE_TIME] < 1KB", "milliseconds"),
    ("bool-vs-number", "[CONNECTED] == 1", "true or false"),
    ("unknown-rcode", "[DNS_RCODE] == NXDOMIAN", "unknown DNS response code"),
    ("contains-on-number", "[STATUS] contains 2", "needs text or a list"),
    ("bad-regex", "[BODY] matches (unclosed", "parentheses are only for functions"),
    ("bad-regex-quoted", '[BODY] matches "(unclosed"', "invalid regular expression"),
    ("matches-needs-pattern", "[BODY] matches [STATUS]", "regular expression on its right"),
    ("unknown-function", "size([BODY]) > 1", "unknown function size()"),
    ("function-needs-placeholder", "len(abc) > 1", "takes a placeholder"),
    ("function-unclosed", "len([BODY] > 1", "missing )"),
    ("len-of-status", "len([STATUS]) > 1", "len() needs text"),
    ("grouping-parentheses", "([STATUS] == 200)", "parentheses are only for functions"),
    ("unterminated-string", '[BODY].a == "ok', "unterminated string"),
    ("bad-severity", "[STATUS] == 200 => warning", "expected 'degraded' or 'down'"),
    ("severity-without-condition", "=> degraded", "empty"),
    ("header-without-name", "[HEADER] == x", "needs a header name"),
    ("header-bad-name", "[HEADER:a b] == x", "invalid header name"),
    ("path-on-non-body", "[STATUS].code == 1", "only [BODY] takes a JSON path"),
    ("empty-path-key", "[BODY]..x == 1", "empty key"),
    ("bad-path-index", "[BODY].items[x] == 1", "invalid JSON path index"),
    ("argument-on-plain-placeholder", "[STATUS:x] == 1", "takes no argument"),
    ("too-long", "[STATUS] == 200 || " * 200 + "[STATUS] == 1", "too long"),
]


@pytest.mark.parametrize(
    ("text", "message"), [case[1:] for case in PARSE_ERROR_CASES], ids=[case[0] for case in PARSE_ERROR_CASES]
)
def test_condition_parse_errors(text, message):
    with pytest.raises(ConfigError) as excinfo:
        parse_condition(text)
    assert message in str(excinfo.value)


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("[STATUS] == 200", "down"),
        ("[RESPONSE_TIME] < 800 => degraded", "degraded"),
        ("[RESPONSE_TIME] < 800 =>degraded", "degraded"),
        ("[STATUS] == 200 => down", "down"),
        ("[STATUS] == 200 => DEGRADED", "degraded"),
    ],
    ids=str,
)
def test_it_reads_the_severity_suffix(text, severity):
    assert parse_condition(text).severity == severity


def test_a_non_string_condition_is_a_config_error():
    with pytest.raises(ConfigError, match="quote conditions"):
        parse_condition(["STATUS"])  # what unquoted YAML would give


def test_placeholders_are_validated_per_kind():
    condition = parse_condition("[STATUS] == 200 || [DNS_RCODE] == NOERROR")
    assert condition.placeholders == {"STATUS", "DNS_RCODE"}
    with pytest.raises(ConfigError, match=r"\[STATUS\] is not available for kind dns"):
        condition.validate_for_kind("dns")


def test_catastrophic_regex_gives_up_within_its_time_bound():
    result = parse_condition('[BODY] matches "^(a|aa)+$"').evaluate(
        Observation(status=200, body=b"a" * 5000 + b"!")
    )
    assert result.ok is False
    assert "gave up" in (result.error or "")


def test_evaluate_conditions_keeps_order_and_summarize_picks_the_worst():
    conditions = [
        parse_condition("[STATUS] < 500"),
        parse_condition("[RESPONSE_TIME] < 100 => degraded"),
        parse_condition("[BODY].status == ok"),
    ]
    results = evaluate_conditions(conditions, OBSERVATIONS["http"])
    assert [r.ok for r in results] == [True, False, True]
    outcome, decisive = summarize(results)
    assert outcome == "degraded" and decisive is results[1]
    results = evaluate_conditions(conditions, OBSERVATIONS["http503"])
    outcome, decisive = summarize(results)
    assert outcome == "down" and decisive is results[0]
    assert summarize(evaluate_conditions(conditions[:1], OBSERVATIONS["http"]))[0] == "up"


def test_result_to_dict_is_plain_data():
    result = parse_condition("[STATUS] == 200").evaluate(OBSERVATIONS["http503"])
    assert result.to_dict() == {
        "text": "[STATUS] == 200",
        "resolved": "[STATUS] (503) == 200",
        "ok": False,
        "severity": "down",
        "error": None,
    }
    json.dumps(result.to_dict())


def test_long_values_are_shortened_in_the_resolved_text():
    result = parse_condition("[BODY] contains needle").evaluate(Observation(status=200, body=b"x" * 10_000))
    assert len(result.resolved) < 150 and "…" in result.resolved


_ALPHABET = st.sampled_from(
    list("[]().,\"'\\=!<>|&:+-_ \t\n0123456789abcxyzKBMiBmshd")
    + ["[STATUS]", "[BODY]", "[HEADER:", "[CERT_EXPIRY]", "[DNS_ANSWERS]", "len(", "has(", "==", "=>",
       "contains", "not", "matches", "degraded", "true", "null", "||", "&&", "72h", "1KB", "\"(a", "[-1]", "[0]"]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(_ALPHABET, max_size=25).map("".join)))
def test_parser_only_ever_raises_config_error(text):
    try:
        condition = parse_condition(text)
    except ConfigError:
        return
    # Whatever parses must also evaluate without raising, against any observation.
    for observation in OBSERVATIONS.values():
        result = condition.evaluate(observation)
        assert isinstance(result.ok, bool)
        assert not (result.error or "").startswith("internal error"), result.error
