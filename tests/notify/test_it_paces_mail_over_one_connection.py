"""`STATUSPAGE_MAIL_RATE` caps how fast mail leaves (a relay's limit), and a delivery run sends its
whole batch over one SMTP session instead of a connection per message."""

import time

import pytest

from tests.conftest import make_env
from tests.support import factories as f

RATE = 20  # messages a second
COUNT = 25


@pytest.fixture
def app_env(tmp_path, database_url, smtp_server):
    return make_env(tmp_path, database_url, STATUSPAGE_SMTP_HOST="127.0.0.1",
                    STATUSPAGE_SMTP_PORT=str(smtp_server.port), STATUSPAGE_MAIL_RATE=str(RATE))


def test_mail_leaves_no_faster_than_the_configured_rate_over_one_session(app, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.many_subscribers(COUNT)
    f.announced_incident("Elevated errors", [api])

    started = time.monotonic()
    stats = deliver()
    elapsed = time.monotonic() - started

    assert stats.sent == COUNT
    assert len(smtp_server.wait_for(COUNT)) == COUNT
    # A lower bound only (a slow machine makes it longer, never shorter): COUNT messages at RATE a
    # second need at least (COUNT - 1) / RATE seconds; unpaced, this takes a few milliseconds.
    assert elapsed >= (COUNT - 1) / RATE * 0.95
    assert len(smtp_server.connections_seen) == 1
