"""SMTP down for a while, then back: every message is delivered once, nothing is lost."""

import datetime as dt

import time_machine
from aiosmtpd.controller import Controller

from statuspage.extensions import db
from statuspage.models import OutboxMessage
from tests.support import factories as f
from tests.support.smtp import _Handler


def _restart(server) -> None:
    server.controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port)
    server.controller.start()


def test_mail_queued_while_smtp_is_down_goes_out_when_it_is_back(app, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.many_subscribers(30)
    smtp_server.stop()
    inc, _ = f.announced_incident("Outage", [api])
    f.announced_update(inc, "identified", "Found it.")

    stats = deliver()
    assert stats.sent == 0 and stats.retried == 60
    rows = db.session.query(OutboxMessage).all()
    assert {r.status for r in rows} == {"pending"}
    assert all(r.attempts == 1 and r.last_error and "cannot connect" in r.last_error for r in rows)
    now = dt.datetime.now(dt.UTC)
    assert all(r.next_attempt_at > now for r in rows)
    # Still down at the next attempt: the backoff grows.
    with time_machine.travel(now + dt.timedelta(minutes=2)):
        assert deliver().retried == 60
    assert {r.attempts for r in db.session.query(OutboxMessage)} == {2}

    _restart(smtp_server)
    assert deliver().claimed == 0  # not due yet: backoff is respected
    with time_machine.travel(now + dt.timedelta(hours=2)):
        stats = deliver()
    assert stats.sent == 60
    got = smtp_server.wait_for(60)
    assert len(got) == 60
    pairs = {(m.rcpt_tos[0], m.message["Message-ID"]) for m in got}
    assert len(pairs) == 60  # 30 recipients × 2 notifications, no duplicates
    assert {r.status for r in db.session.query(OutboxMessage)} == {"sent"}
