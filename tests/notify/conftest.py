"""Notification tests run against a real aiosmtpd server (SMTP set in the app's environment).

Webhook receivers listen on 127.0.0.1, which the outbound policy refuses unless an operator allows it:
these tests allow 127.0.0.1/32 (only) and resolve webhook hosts with a real DNS server on 127.0.0.1
whose names all point at loopback, so no test ever sends traffic off this machine.
"""

from __future__ import annotations

import re

import pytest

from statuspage.extensions import db
from statuspage.services.notifications.outbox.deliver import deliver_outbox
from tests.conftest import make_env
from tests.support.dns_server import DnsServer
from tests.support.webhook import WebhookReceiver


@pytest.fixture
def dns_server():
    server = DnsServer({("hooks.customer.test", "A"): ["127.0.0.1"]})
    yield server
    server.stop()


@pytest.fixture
def app_env(tmp_path, database_url, smtp_server, dns_server):
    return make_env(tmp_path, database_url, STATUSPAGE_SMTP_HOST="127.0.0.1",
                    STATUSPAGE_SMTP_PORT=str(smtp_server.port), STATUSPAGE_OUTBOUND_ALLOW="127.0.0.1/32",
                    STATUSPAGE_OUTBOUND_NAMESERVER=dns_server.address)


@pytest.fixture
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def deliver(app):
    """Run the delivery job once, as the worker does every second."""

    def run(worker_id: str = "test-worker", **kwargs):
        stats = deliver_outbox(worker_id, **kwargs)
        db.session.expire_all()  # see what the job (and the web requests) wrote
        return stats

    return run


def link_in(message, path: str) -> str:
    """The first link to `path` in the plain-text part of a captured message."""
    text = message.get_body(("plain",)).get_content()
    match = re.search(r"(https?://\S+" + re.escape(path) + r"[A-Za-z0-9._-]+)", text)
    assert match, f"no {path} link in:\n{text}"
    return match.group(1)
