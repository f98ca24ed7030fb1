"""DNS probe against a tiny DNS server on 127.0.0.1."""

from __future__ import annotations

import pytest

from checks.probes import run_probe
from tests.support.dns_server import DnsServer


@pytest.fixture
def dns_server():
    server = DnsServer(
        {
            ("api.test", "A"): ["10.0.0.1", "10.0.0.2"],
            ("api.test", "TXT"): ['"v=spf1 -all"'],
            ("www.test", "CNAME"): ["api.test."],
            ("mail.test", "MX"): ["10 mx.test."],
        },
        rcodes={"broken.test": "SERVFAIL"},
        silent={"slow.test"},
    )
    yield server
    server.stop()


def test_an_a_record_resolves(dns_server, make_spec):
    result = run_probe(make_spec(kind="dns", host="api.test", nameserver=dns_server.address))
    assert result.outcome == "up", result.message
    assert result.observed["dns_rcode"] == "NOERROR"
    assert result.observed["dns_answers"] == ["10.0.0.1", "10.0.0.2"]
    assert result.observed["ip"] == "10.0.0.1"
    assert dns_server.queries == [("api.test.", "A")]


def test_expected_answers_must_all_be_there(dns_server, make_spec):
    good = run_probe(make_spec(kind="dns", host="api.test", nameserver=dns_server.address,
                               expected_answers=["10.0.0.2"]))
    assert good.outcome == "up", good.message
    bad = run_probe(make_spec(kind="dns", host="api.test", nameserver=dns_server.address,
                              expected_answers=["10.0.0.9"]))
    assert bad.outcome == "down"
    assert bad.message == '[DNS_ANSWERS] (["10.0.0.1", "10.0.0.2"]) contains "10.0.0.9"'


@pytest.mark.parametrize(
    ("host", "record_type", "answers"),
    [("api.test", "TXT", ["v=spf1 -all"]), ("www.test", "CNAME", ["api.test"]), ("mail.test", "MX", ["10 mx.test"])],
    ids=["txt", "cname", "mx"],
)
def test_record_types_are_read_as_text(dns_server, make_spec, host, record_type, answers):
    result = run_probe(make_spec(kind="dns", host=host, record_type=record_type, nameserver=dns_server.address))
    assert result.outcome == "up", result.message
    assert result.observed["dns_answers"] == answers


def test_nxdomain_is_down_with_the_rcode_shown(dns_server, make_spec):
    result = run_probe(make_spec(kind="dns", host="missing.test", nameserver=dns_server.address))
    assert result.outcome == "down"
    assert result.error_class == "dns"
    assert result.message == "[DNS_RCODE] (NXDOMAIN) == NOERROR"


def test_nxdomain_can_be_the_expected_answer(dns_server, make_spec):
    result = run_probe(make_spec(kind="dns", host="missing.test", nameserver=dns_server.address,
                                 conditions=["[DNS_RCODE] == NXDOMAIN"]))
    assert result.outcome == "up"


def test_servfail(dns_server, make_spec):
    result = run_probe(make_spec(kind="dns", host="broken.test", nameserver=dns_server.address))
    assert result.outcome == "down" and "(SERVFAIL)" in result.message


def test_no_answer_is_a_timeout_within_the_deadline(dns_server, make_spec):
    result = run_probe(make_spec(kind="dns", host="slow.test", nameserver=dns_server.address,
                                 timeout="1s", interval="10s"))
    assert result.outcome == "down"
    assert result.error_class == "timeout"


def test_answer_count_condition(dns_server, make_spec):
    result = run_probe(make_spec(kind="dns", host="api.test", nameserver=dns_server.address,
                                 conditions=["len([DNS_ANSWERS]) >= 3 => degraded"]))
    assert result.outcome == "degraded"
    assert result.message == "len([DNS_ANSWERS]) (2) >= 3"
