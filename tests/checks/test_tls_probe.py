"""TLS probe: expiry, host name and chain as separate facts, with certificates made in the test."""

from __future__ import annotations

from checks.probes import run_probe
from tests.support.target import TcpTarget, free_port


def test_a_valid_certificate_from_a_trusted_ca(trust_test_ca, make_tls_target, make_spec):
    server = make_tls_target(ca=trust_test_ca, valid_days=90)
    result = run_probe(make_spec(kind="tls", host="localhost", port=server.port))
    assert result.outcome == "up", result.message
    facts = result.observed
    assert facts["cert_chain_valid"] is True and facts["cert_hostname_match"] is True
    assert 89 * 86400 < facts["cert_expiry_s"] <= 90 * 86400
    assert "CN=localhost" in facts["cert_subject"]


def test_a_self_signed_certificate_has_an_invalid_chain_but_a_readable_expiry(tls_target, make_spec):
    result = run_probe(make_spec(kind="tls", host="localhost", port=tls_target.port))
    assert result.outcome == "down"
    assert result.error_class == "tls"
    assert "chain not valid" in result.message and "self-signed" in result.message
    assert result.observed["cert_chain_valid"] is False
    assert result.observed["cert_hostname_match"] is True
    assert result.observed["cert_expiry_s"] > 20 * 86400


def test_expiry_alone_can_be_watched_on_a_self_signed_certificate(tls_target, make_spec):
    result = run_probe(make_spec(kind="tls", host="127.0.0.1", port=tls_target.port, verify_tls=False,
                                 conditions=["[CERT_EXPIRY] > 14d", "[CERT_EXPIRY] > 60d => degraded"]))
    assert result.outcome == "degraded"
    assert result.message.startswith("[CERT_EXPIRY] (29d")


def test_an_expired_certificate(trust_test_ca, make_tls_target, make_spec):
    server = make_tls_target(ca=trust_test_ca, expired=True)
    result = run_probe(make_spec(kind="tls", host="localhost", port=server.port))
    assert result.outcome == "down"
    assert result.error_class == "tls"
    assert "expired" in result.message
    assert result.observed["cert_expiry_s"] < 0
    failing = [c["resolved"] for c in result.conditions if not c["ok"]]
    assert any(text.startswith("[CERT_EXPIRY] (-2d") for text in failing)


def test_a_host_name_mismatch_is_told_apart_from_the_chain(trust_test_ca, make_tls_target, make_spec):
    server = make_tls_target(ca=trust_test_ca, names=("other.example",))
    result = run_probe(make_spec(kind="tls", host="127.0.0.1", port=server.port))
    assert result.outcome == "down"
    assert result.observed["cert_chain_valid"] is True
    assert result.observed["cert_hostname_match"] is False
    assert "does not match the host name" in result.message


def test_refused(make_spec):
    result = run_probe(make_spec(kind="tls", host="127.0.0.1", port=free_port()))
    assert result.outcome == "down" and result.error_class == "refused"


def test_a_server_that_never_shakes_hands_is_cut_at_the_timeout(make_spec):
    with TcpTarget(silent=True) as server:
        result = run_probe(make_spec(kind="tls", host="127.0.0.1", port=server.port, timeout="1s", interval="10s"))
    assert result.outcome == "down" and result.error_class == "timeout"


def test_a_plain_text_server_is_a_tls_error(make_spec):
    with TcpTarget(banner=b"HTTP/1.1 400 Bad Request\r\n\r\n" * 20) as server:
        result = run_probe(make_spec(kind="tls", host="127.0.0.1", port=server.port, timeout="2s"))
    assert result.outcome == "down"
    assert result.error_class in ("tls", "connection")
