"""Fixtures of the Statuspage-compatibility tests: tokens, the contract client over real HTTP, and a
second running instance of the app (the "source" page an import reads from, always SQLite)."""

from __future__ import annotations

import pytest

from statuspage import create_app
from statuspage.extensions import db
from statuspage.services.page import get_page
from statuspage.services.users import create_token
from tests.conftest import make_env
from tests.support.dns_server import DnsServer
from tests.support.live import LiveServer

from .contract import StatuspageContractClient

API = "/api/statuspage/v1"


@pytest.fixture
def app_env(tmp_path, database_url):
    """This instance resolves webhook hosts through a real DNS server on 127.0.0.1 (every test name
    points at loopback, which the outbound policy allows here), so no test sends traffic off the machine."""
    dns = DnsServer({("hooks.customer.example", "A"): ["127.0.0.1"]})
    yield make_env(tmp_path, database_url, STATUSPAGE_OUTBOUND_ALLOW="127.0.0.1/32",
                   STATUSPAGE_OUTBOUND_NAMESERVER=dns.address)
    dns.stop()


@pytest.fixture
def tokens(app):
    """(write key, read key) of this instance."""
    _, write = create_token("statuspage client", "write")
    _, read = create_token("statuspage reader", "read")
    return write, read


@pytest.fixture
def page_id(app) -> str:
    public_id = get_page().public_id
    db.session.commit()  # and hold no transaction: on SQLite the live server needs the write lock
    return public_id


@pytest.fixture
def sp(live_server, tokens, page_id) -> StatuspageContractClient:
    """The contract client, pointed at this instance over real HTTP with a write key."""
    return StatuspageContractClient(live_server.url + API, tokens[0], page_id)


class Instance:
    """Another running instance of the app: its own app object, database and live HTTP server."""

    def __init__(self, app, server: LiveServer):
        self.app = app
        self.server = server
        with app.app_context():
            _, self.key = create_token("export", "read")
            _, self.write_key = create_token("seed", "write")
            self.page_id = get_page().public_id
            db.session.commit()
        self.api_url = server.url + API

    def client(self) -> StatuspageContractClient:
        return StatuspageContractClient(self.api_url, self.write_key, self.page_id)


@pytest.fixture
def source(tmp_path):
    """A second instance (SQLite) served by a real HTTP server, for an import to read from.

    Its seeded webhook subscriber points at a name a real DNS server on 127.0.0.1 resolves to loopback,
    which this instance's outbound policy allows (nothing is ever delivered there: no worker runs)."""
    dns = DnsServer({("hooks.example", "A"): ["127.0.0.1"]})
    env = make_env(tmp_path / "source", f"sqlite:///{tmp_path / 'source.db'}",
                   STATUSPAGE_PUBLIC_URL="http://source.test", SECRET_KEY="source-secret-key-0123456789abcdef",
                   STATUSPAGE_OUTBOUND_ALLOW="127.0.0.1/32", STATUSPAGE_OUTBOUND_NAMESERVER=dns.address)
    app = create_app({"TESTING": True}, env=env)
    with app.app_context():
        db.create_all()
    server = LiveServer(app).start()
    yield Instance(app, server)
    server.stop()
    dns.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
