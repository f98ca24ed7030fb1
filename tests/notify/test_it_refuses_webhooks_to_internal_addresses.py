"""Issue 17, item 1: no server-side request forgery through webhooks.

A write token or a responder chooses a webhook URL; the worker connects to it from inside the
operator's network. Internal addresses are refused when the URL is saved and again at each send,
the connection goes to the address that was checked (DNS rebinding gets nowhere), and a delivery
error keeps the status line and a short reason — never the reply body, never the URL.

Every server here listens on loopback and the DNS server only ever answers loopback addresses, so
even a broken policy could not send traffic off this machine.
"""

from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy import insert

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import OutboxMessage, Subscriber
from statuspage.outbound import OutboundPolicy, OutboundRefused, address_problem, mask_url
from statuspage.services.users import create_token
from tests.conftest import make_env
from tests.support import factories as f
from tests.support.console import csrf_from, login
from tests.support.dns_server import DnsServer
from tests.support.webhook import WebhookReceiver


@pytest.fixture
def dns_server():
    server = DnsServer({("hooks.customer.test", "A"): ["127.0.0.1"],
                        ("metadata.evil.test", "A"): ["169.254.169.254"],
                        ("lan.evil.test", "A"): ["10.1.2.3"],
                        ("v6.evil.test", "AAAA"): ["::1"],
                        ("mixed.evil.test", "A"): ["127.0.0.1"], ("mixed.evil.test", "AAAA"): ["fe80::1"]})
    yield server
    server.stop()


@pytest.fixture
def app_env(tmp_path, database_url, smtp_server, dns_server):
    # The operator allows one internal receiver address, nothing else.
    return make_env(tmp_path, database_url, STATUSPAGE_SMTP_HOST="127.0.0.1",
                    STATUSPAGE_SMTP_PORT=str(smtp_server.port), STATUSPAGE_OUTBOUND_ALLOW="127.0.0.1/32",
                    STATUSPAGE_OUTBOUND_NAMESERVER=dns_server.address)


def _write(client):
    _, token = create_token("ci", "write")
    return {"Authorization": f"Bearer {token}"}


REFUSED_AT_SAVE = [
    ("http://127.0.0.2:6379/", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]:6379/", "loopback"),
    ("http://0x7f000002/", "loopback"),          # hexadecimal IPv4
    ("http://2130706434/", "loopback"),          # decimal IPv4 (127.0.0.2)
    ("http://127.2/", "loopback"),               # short form
    ("http://10.0.0.1/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://100.64.0.1/", "shared"),
    ("http://224.0.0.1/", "multicast"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://240.0.0.1/", "reserved"),
    ("http://[::ffff:127.0.0.2]/", "loopback"),  # IPv4-mapped IPv6
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 form of 169.254.169.254
    ("http://user:pw@127.0.0.2/", "loopback"),  # credentials do not hide the host
    ("http://metadata.evil.test/", "link-local"),
    ("http://lan.evil.test/", "private"),
    ("http://v6.evil.test/", "loopback"),
    ("http://mixed.evil.test/", "link-local"),   # one bad address among good ones is enough
    ("http://nowhere.evil.test/", "does not resolve"),
    ("ftp://hooks.customer.test/", "absolute http(s) URL"),
    ("http://hooks.customer.test:99999/", "not well formed"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED_AT_SAVE, ids=[u for u, _ in REFUSED_AT_SAVE])
def test_internal_urls_are_refused_when_saved_through_the_api(app, client, url, why):
    resp = client.post("/api/v1/subscribers", json={"kind": "webhook", "url": url}, headers=_write(client))
    assert resp.status_code == 422, resp.text
    assert why in resp.get_json()["error"]["fields"]["url"]
    assert db.session.query(Subscriber).count() == 0


def test_the_console_refuses_them_too(app, client):
    login(client, "responder")
    page = client.get("/admin/subscribers")
    resp = client.post("/admin/subscribers/webhooks", data={
        "csrf_token": csrf_from(page.text), "url": "http://169.254.169.254/latest/meta-data/",
        "format": "statuspage"}, follow_redirects=True)
    assert "Webhook not added" in resp.text and "link-local address" in resp.text
    assert db.session.query(Subscriber).count() == 0


def test_an_allow_listed_receiver_is_accepted_and_reached(app, client, dns_server, deliver):
    receiver = WebhookReceiver().start()
    try:
        api = f.component("API", "api")
        url = f"http://hooks.customer.test:{receiver.port}/hook?x=1"
        resp = client.post("/api/v1/subscribers", json={"kind": "webhook", "url": url}, headers=_write(client))
        assert resp.status_code == 201, resp.text
        dns_server.queries.clear()
        f.announced_incident("Outage", [api])
        assert deliver().sent == 1
        (req,) = receiver.wait_for(1)
        # Connected to the address it checked, and asked with the name the user gave.
        assert req.path == "/hook?x=1" and req.headers["Host"] == f"hooks.customer.test:{receiver.port}"
    finally:
        receiver.stop()


def test_dns_rebinding_after_saving_is_refused_at_send_time(app, client, dns_server, deliver):
    """Saved while the name pointed at the allowed receiver; it now points at an internal service."""
    internal = WebhookReceiver(host="127.0.0.2").start()  # stands for Redis, an admin port, metadata…
    try:
        api = f.component("API", "api")
        url = f"http://hooks.customer.test:{internal.port}/"
        resp = client.post("/api/v1/subscribers", json={"kind": "webhook", "url": url}, headers=_write(client))
        assert resp.status_code == 201, resp.text
        dns_server.set("hooks.customer.test", "A", ["127.0.0.2"])
        f.announced_incident("Outage", [api])
        stats = deliver()
        assert stats.sent == 0
        assert internal.requests == []
        row = db.session.query(OutboxMessage).one()
        assert row.last_error.startswith("refused: hooks.customer.test resolves to a loopback address")
        # An address that is refused cannot become acceptable by retrying: it counts toward quarantine.
        assert db.session.get(Subscriber, resp.get_json()["id"]).failure_count == 1
    finally:
        internal.stop()


def test_the_connection_goes_to_the_address_that_was_checked(app, client, dns_server, deliver):
    """A name that answers the allowed address once and an internal one after (rebinding between the
    check and the connect): one lookup per send, and the request reaches the checked address."""
    receiver = WebhookReceiver().start()
    trap = WebhookReceiver(host="127.0.0.2", port=receiver.port).start()
    try:
        api = f.component("API", "api")
        url = f"http://hooks.customer.test:{receiver.port}/"
        assert client.post("/api/v1/subscribers", json={"kind": "webhook", "url": url},
                           headers=_write(client)).status_code == 201
        dns_server.answer_in_turn("hooks.customer.test", "A", [["127.0.0.1"], ["127.0.0.2"]])
        dns_server.queries.clear()
        f.announced_incident("Outage", [api])
        assert deliver().sent == 1
        assert len(receiver.wait_for(1)) == 1 and trap.requests == []
        assert dns_server.queries.count(("hooks.customer.test.", "A")) == 1
    finally:
        trap.stop()
        receiver.stop()


def test_a_stored_internal_url_is_refused_at_send_time(app, client, deliver):
    """A row from before the policy (or written behind its back) is checked again when sending."""
    internal = WebhookReceiver(host="127.0.0.2").start()
    try:
        api = f.component("API", "api")
        db.session.execute(insert(Subscriber).values(
            kind="webhook", webhook_url=f"{internal.url}/", webhook_secret="whsec_x", webhook_format="statuspage",
            all_components=True, confirmed_at=utcnow(), created_at=utcnow(), token_version=1, failure_count=0))
        db.session.commit()
        f.announced_incident("Outage", [api])
        assert deliver().sent == 0
        assert internal.requests == []
        assert "loopback address" in db.session.query(OutboxMessage).one().last_error
    finally:
        internal.stop()


def test_last_error_keeps_the_status_line_never_the_body(app, client, deliver):
    receiver = WebhookReceiver().start()
    try:
        api = f.component("API", "api")
        url = f"http://user:hunter2@hooks.customer.test:{receiver.port}/services/T000/B000/SECRETPATH"
        hook = client.post("/api/v1/subscribers", json={"kind": "webhook", "url": url}, headers=_write(client))
        assert hook.status_code == 201
        receiver.default_status = 500
        receiver.reply_body = b"redis_version:7.0.15\r\nSECRET-IN-BODY " + b"x" * 500
        f.announced_incident("Outage", [api])
        assert deliver().retried == 1
        (req,) = receiver.wait_for(1)
        assert req.headers["Authorization"] == "Basic dXNlcjpodW50ZXIy"  # credentials in the URL still work
        row = db.session.query(OutboxMessage).one()
        assert row.last_error == "HTTP 500 Internal Server Error"
        _, read = create_token("reader", "read")
        listed = client.get("/api/v1/outbox", headers={"Authorization": f"Bearer {read}"}).get_json()
        text = str(listed)
        assert "SECRET-IN-BODY" not in text and "SECRETPATH" not in text and "hunter2" not in text
    finally:
        receiver.stop()


# --- the policy itself, table-driven (no network) ------------------------------------------------------------

ADDRESSES = [
    ("93.184.215.14", None), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None), ("8.8.8.8", None),
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("10.0.0.1", "private"), ("172.16.0.1", "private"), ("192.168.0.1", "private"), ("fd00::1", "private"),
    ("100.64.0.1", "shared"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"),
    ("::", "unspecified"), ("240.0.0.1", "reserved"), ("192.0.2.1", "private"),
    ("::ffff:10.0.0.1", "private"), ("2002:7f00:1::", "loopback"), ("64:ff9b::7f00:1", "loopback"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo carrying 127.0.0.1
]


@pytest.mark.parametrize(("address", "problem"), ADDRESSES, ids=[a for a, _ in ADDRESSES])
def test_address_classification(address, problem):
    found = address_problem(ipaddress.ip_address(address))
    assert (found is None) if problem is None else (problem in found)


def test_allow_list_is_by_network():
    policy = OutboundPolicy(allow=(ipaddress.ip_network("10.20.0.0/16"),))
    assert policy.allowed(ipaddress.ip_address("10.20.3.4"))
    assert not policy.allowed(ipaddress.ip_address("10.21.0.1"))
    with pytest.raises(OutboundRefused, match="private address"):
        policy.check_url("http://10.21.0.1/")
    assert policy.check_url("http://10.20.0.9:8080/x").addresses == (ipaddress.ip_address("10.20.0.9"),)


MASKED = [
    ("https://hooks.slack.com/services/T000/B000/XXXX", "https://hooks.slack.com/services/***"),
    ("https://user:pw@example.com:8443/a?token=1", "https://***@example.com:8443/a?***"),
    ("http://example.com", "http://example.com"),
    ("http://[::1]:80/x/y", "http://[::1]:80/x/***"),
    ("not a url", "***"),
]


@pytest.mark.parametrize(("url", "masked"), MASKED, ids=[u for u, _ in MASKED])
def test_mask_url(url, masked):
    assert mask_url(url) == masked
