"""The agent's HTTP client: which server URLs it accepts, and what it does with each kind of answer."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from statuspage.probe_agent.client import ClientConfigError, FetchError, ProbeClient, check_server_url
from tests.probe_agent.fakes import FakeProbeServer

ROOT = Path(__file__).resolve().parents[2]
ROW = {"check_id": 1, "slot": "2026-12-01T04:00:00.000+00:00", "started_at": "2026-12-01T04:00:00.010+00:00",
       "outcome": "up", "latency_ms": 3.2, "status_code": 200, "error_class": None, "message": "ok",
       "conditions": None}
AGENT = {"version": "0.1.0", "buffer_depth": 1, "oldest_buffered_at": None, "dropped": 0, "hostname": "h"}


@pytest.fixture
def server() -> Iterator[FakeProbeServer]:
    fake = FakeProbeServer(token="t0k", location="eu-west", checks=[])
    yield fake
    fake.stop()


@pytest.mark.parametrize("url", ["https://status.example.com", "https://status.example.com/", "http://127.0.0.1:8080",
                                 "http://127.9.9.9", "http://[::1]:8080", "http://localhost:8080"])
def test_https_or_loopback_http_is_accepted(url: str) -> None:
    assert check_server_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://status.example.com", "http://10.0.0.5:8080", "ftp://status.example.com",
                                 "status.example.com", "http://"])
def test_plain_http_to_another_machine_is_refused(url: str) -> None:
    with pytest.raises(ClientConfigError):
        check_server_url(url)


def test_a_ca_bundle_that_is_not_a_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STATUSPAGE_PROBE_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(ClientConfigError, match="STATUSPAGE_PROBE_CA_BUNDLE"):
        ProbeClient("https://status.example.com", "eu-west", "t")
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("STATUSPAGE_PROBE_CA_BUNDLE", str(bundle))
    assert ProbeClient("https://status.example.com", "eu-west", "t")._session.verify == str(bundle)


def test_fetch_checks_and_its_failures(server: FakeProbeServer) -> None:
    assert ProbeClient(server.url, "eu-west", "t0k").fetch_checks()["checks"] == []
    with pytest.raises(FetchError) as refused:
        ProbeClient(server.url, "eu-west", "wrong").fetch_checks()
    assert refused.value.auth and refused.value.status == 401
    with pytest.raises(FetchError) as other:
        ProbeClient(server.url, "us-east", "t0k").fetch_checks()
    assert other.value.auth and other.value.status == 403
    server.set_mode("503")
    with pytest.raises(FetchError) as down:
        ProbeClient(server.url, "eu-west", "t0k").fetch_checks()
    assert not down.value.auth and down.value.status == 503


def test_what_each_answer_to_a_post_means(server: FakeProbeServer) -> None:
    client = ProbeClient(server.url, "eu-west", "t0k", read_timeout=5)
    ok = client.post_results(AGENT, [ROW])
    assert (ok.action, ok.status, ok.accepted) == ("ack", 200, 1)
    again = client.post_results(AGENT, [ROW])
    assert (again.action, again.duplicates) == ("ack", 1)

    server.answer_next_post(422, {"error": {"code": "validation_failed", "message": "1 result is invalid"},
                                  "accepted": 0, "duplicates": 0,
                                  "rejected": [{"index": 0, "field": "results[0].outcome", "message": "bad"}]})
    partial = client.post_results(AGENT, [ROW])
    assert partial.action == "ack" and partial.rejected[0]["field"] == "results[0].outcome"

    server.answer_next_post(400, {"error": {"code": "bad_request", "message": "not JSON"}})
    assert client.post_results(AGENT, [ROW]).action == "ack"
    server.answer_next_post(413, {"error": {"code": "too_large", "message": "at most 1000"}})
    too_large = client.post_results(AGENT, [ROW])
    assert too_large.action == "retry" and too_large.too_large

    refused = ProbeClient(server.url, "eu-west", "wrong").post_results(AGENT, [ROW])
    assert (refused.action, refused.auth, refused.status) == ("retry", True, 401)
    server.set_mode("503")
    assert client.post_results(AGENT, []).action == "retry"
    server.set_mode("drop")
    dropped = client.post_results(AGENT, [ROW])
    assert dropped.action == "retry" and dropped.status is None and "cannot reach" in dropped.message


def test_the_agent_loads_neither_the_app_nor_the_database() -> None:
    code = (
        "import sys, statuspage.probe_agent.agent, statuspage.probe_agent.command;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'flask_sqlalchemy', 'psycopg')"
        " or m.startswith(('statuspage.models', 'statuspage.web', 'statuspage.extensions', 'statuspage.services.'"
        "'monitoring.scheduler'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
