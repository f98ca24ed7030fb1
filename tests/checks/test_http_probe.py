"""HTTP probe against a real target on 127.0.0.1: outcomes, deadlines, bounds and TLS."""

from __future__ import annotations

import json

from checks.probes import run_probe
from tests.support.target import free_port


def test_a_healthy_endpoint_is_up_with_every_condition_resolved(target, make_spec):
    url = target.set("/health", body=json.dumps({"status": "ok"}), headers={"Content-Type": "application/json"})
    result = run_probe(
        make_spec(kind="http", url=url, conditions=["[STATUS] == 200", "[BODY].status == ok",
                                                     "[HEADER:content-type] contains json"])
    )
    assert result.outcome == "up", result.message
    assert result.status_code == 200 and result.error_class is None
    assert [c["resolved"] for c in result.conditions] == [
        "[STATUS] (200) == 200",
        "[BODY].status (ok) == ok",
        "[HEADER:content-type] (application/json) contains json",
    ]
    assert result.latency_ms > 0
    assert result.observed["ip"] == "127.0.0.1"
    assert result.check_id == "t" and result.checked_at is not None
    json.dumps(result.to_dict())


def test_a_500_is_down_and_says_why(target, make_spec):
    url = target.set("/health", status=500, body="boom")
    result = run_probe(make_spec(kind="http", url=url))
    assert result.outcome == "down"
    assert result.status_code == 500
    assert result.error_class == "condition"
    assert result.message == "[STATUS] (500) < 400"


def test_a_slow_response_is_degraded_not_down(target, make_spec):
    url = target.set("/slow", delay=0.3)
    result = run_probe(make_spec(kind="http", url=url, conditions=["[STATUS] == 200", "[RESPONSE_TIME] < 100 => degraded"]))
    assert result.outcome == "degraded"
    assert result.error_class == "condition"
    assert result.message.startswith("[RESPONSE_TIME] (")


def test_a_hanging_server_is_cut_at_the_timeout(target, make_spec):
    url = target.set("/hang", hang=True)
    result = run_probe(make_spec(kind="http", url=url, timeout="1s", interval="10s"))
    assert result.outcome == "down"
    assert result.error_class == "timeout"


def test_a_dripping_body_is_cut_at_the_total_deadline(target, make_spec):
    # One byte every 0.2 s: no single read ever times out, only the total deadline can stop it.
    url = target.set("/drip", body="x" * 200, drip=0.2)
    result = run_probe(make_spec(kind="http", url=url, timeout="1s", interval="10s"))
    assert result.outcome == "down"
    assert result.error_class == "timeout"
    assert "1s timeout" in result.message


def test_a_50_mb_body_is_read_only_up_to_max_body_bytes(target, make_spec):
    url = target.set("/huge", size=50 * 1024 * 1024)
    result = run_probe(make_spec(kind="http", url=url, conditions=["[STATUS] == 200", "len([BODY]) > 1000"]))
    assert result.outcome == "up", result.message
    assert result.observed["body_bytes"] == 1024 * 1024
    assert result.observed["body_truncated"] is True


def test_a_smaller_max_body_bytes_is_respected(target, make_spec):
    url = target.set("/page", body="y" * 5000)
    result = run_probe(make_spec(kind="http", url=url, max_body_bytes="1KiB", conditions=["len([BODY]) == 1KiB"]))
    assert result.outcome == "up", result.message
    assert result.observed["body_truncated"] is True


def test_a_redirect_loop_is_an_http_error(target, make_spec):
    target.set("/a", redirect="/b")
    target.set("/b", redirect="/a")
    result = run_probe(make_spec(kind="http", url=target.url + "/a"))
    assert result.outcome == "down"
    assert result.error_class == "http"
    assert result.message == f"redirect loop: {target.url}/a → {target.url}/b → {target.url}/a"
    assert target.hits("/a") == 1 and target.hits("/b") == 1


def test_an_endless_redirect_chain_stops_after_ten_hops(target, make_spec):
    for i in range(20):
        target.set(f"/r{i}", redirect=f"/r{i + 1}")
    result = run_probe(make_spec(kind="http", url=target.url + "/r0"))
    assert result.error_class == "http"
    assert "too many redirects" in result.message


def test_redirects_are_followed_or_not_as_configured(target, make_spec):
    target.set("/old", redirect="/new")
    target.set("/new", body="here")
    followed = run_probe(make_spec(kind="http", url=target.url + "/old", conditions=["[BODY] == here"]))
    assert followed.outcome == "up" and followed.status_code == 200
    assert followed.observed["final_url"] == target.url + "/new"
    kept = run_probe(make_spec(kind="http", url=target.url + "/old", follow_redirects=False,
                               conditions=["[STATUS] == 302", "[HEADER:Location] == /new"]))
    assert kept.outcome == "up", kept.message
    assert target.hits("/new") == 1


def test_method_headers_and_body_are_sent(target, make_spec):
    url = target.set("/hook", status=201)
    result = run_probe(make_spec(kind="http", url=url, method="POST", headers={"X-Token": "s3cret"},
                                 body='{"ping": 1}', conditions=["[STATUS] == 201"]))
    assert result.outcome == "up"
    (seen,) = target.requests("/hook")
    assert seen.method == "POST" and seen.body == b'{"ping": 1}' and seen.headers["X-Token"] == "s3cret"


def test_head_requests_read_no_body(target, make_spec):
    url = target.set("/h", body="ignored")
    result = run_probe(make_spec(kind="http", url=url, method="HEAD"))
    assert result.outcome == "up" and target.requests("/h")[0].method == "HEAD"


def test_invalid_json_fails_a_json_condition_with_a_clear_error(target, make_spec):
    url = target.set("/json", body="<html>oops</html>")
    result = run_probe(make_spec(kind="http", url=url, conditions=["[BODY].status == ok"]))
    assert result.outcome == "down"
    assert result.error_class == "condition"
    (condition,) = result.conditions
    assert condition["resolved"] == "[BODY].status (?) == ok"
    assert "body is not valid JSON" in condition["error"]
    assert "body is not valid JSON" in result.message


def test_connection_refused(make_spec):
    result = run_probe(make_spec(kind="http", url=f"http://127.0.0.1:{free_port()}/"))
    assert result.outcome == "down"
    assert result.error_class == "refused"
    assert "connection refused" in result.message
    assert result.status_code is None


def test_an_unresolvable_name(make_spec):
    result = run_probe(make_spec(kind="http", url="http://nonexistent.invalid/health", timeout="3s"))
    assert result.outcome == "down"
    assert result.error_class == "dns"
    assert "nonexistent.invalid" in result.message


def test_a_self_signed_certificate_fails_verification(tls_target, make_spec):
    url = tls_target.set("/health")
    result = run_probe(make_spec(kind="http", url=url))
    assert result.outcome == "down"
    assert result.error_class == "tls"
    assert "certificate verify failed" in result.message
    assert tls_target.hits("/health") == 0


def test_a_self_signed_certificate_passes_without_verification(tls_target, make_spec):
    url = tls_target.set("/health")
    result = run_probe(make_spec(kind="http", url=url, verify_tls=False,
                                 conditions=["[STATUS] == 200", "[CERT_EXPIRY] > 7d"]))
    assert result.outcome == "up", result.message
    assert result.conditions[1]["resolved"].startswith("[CERT_EXPIRY] (29d")


def test_a_certificate_from_a_trusted_ca_verifies(trust_test_ca, make_tls_target, make_spec):
    server = make_tls_target(ca=trust_test_ca)
    result = run_probe(make_spec(kind="http", url=server.set("/ok"), conditions=["[STATUS] == 200", "[CERT_EXPIRY] > 72h"]))
    assert result.outcome == "up", result.message


def test_an_expired_certificate_is_a_tls_error(trust_test_ca, make_tls_target, make_spec):
    server = make_tls_target(ca=trust_test_ca, expired=True)
    result = run_probe(make_spec(kind="http", url=server.set("/ok")))
    assert result.outcome == "down"
    assert result.error_class == "tls"
    assert "expired" in result.message


def test_cert_expiry_is_readable_without_verification_even_when_expired(make_tls_target, make_spec):
    server = make_tls_target(expired=True)
    result = run_probe(make_spec(kind="http", url=server.set("/ok"), verify_tls=False,
                                 conditions=["[STATUS] == 200", "[CERT_EXPIRY] > 0"]))
    assert result.outcome == "down"
    assert result.error_class == "condition"
    assert result.message.startswith("[CERT_EXPIRY] (-2d")


def test_https_probes_share_one_ssl_context_and_never_reload_the_ca_bundle(
    trust_test_ca, make_tls_target, make_spec, monkeypatch
):
    import ssl

    server = make_tls_target(ca=trust_test_ca)
    spec = make_spec(kind="http", url=server.set("/ok"))
    assert run_probe(spec).outcome == "up"  # builds the shared context once
    loads = []
    original = ssl.SSLContext.load_verify_locations

    def counting(self, *args, **kwargs):
        loads.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    results = [run_probe(spec) for _ in range(10)]
    assert all(r.outcome == "up" for r in results)
    assert loads == []


def test_a_dripping_https_body_is_cut_at_the_total_deadline(tls_target, make_spec):
    url = tls_target.set("/drip", body="x" * 200, drip=0.2)
    result = run_probe(make_spec(kind="http", url=url, verify_tls=False, timeout="1s", interval="10s"))
    assert result.outcome == "down" and result.error_class == "timeout"


def test_run_probe_works_from_a_thread_whose_event_loop_is_running(target, make_spec):
    from tests.support.aio import run_async

    url = target.set("/ok")

    async def caller():
        return run_probe(make_spec(kind="http", url=url))  # a sync tool called from async code

    assert run_async(caller).outcome == "up"
