"""451 (transient): the row stays pending with a backoff, then goes out."""

import datetime as dt

import time_machine

from statuspage.extensions import db
from statuspage.models import OutboxMessage, Subscriber
from statuspage.services.notifications.outbox.record import backoff_seconds
from tests.support import factories as f


def test_451_is_retried_later_with_backoff(app, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    sub = f.subscriber("busy@customer.test")
    smtp_server.rcpt_reply = "451 4.7.1 Try again later"
    f.announced_incident("Outage", [api])
    now = dt.datetime.now(dt.UTC)
    assert deliver().retried == 1
    row = db.session.query(OutboxMessage).one()
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at > now + dt.timedelta(seconds=10)
    assert deliver().claimed == 0  # not before its time
    assert db.session.get(Subscriber, sub.id).failure_count == 0  # a 4xx is not a bounce

    smtp_server.rcpt_reply = None
    with time_machine.travel(now + dt.timedelta(minutes=5)):
        assert deliver().sent == 1
    db.session.expire_all()
    row = db.session.query(OutboxMessage).one()
    assert row.status == "sent" and row.attempts == 2 and "451" in row.last_error
    assert smtp_server.wait_for(1)[0].rcpt_tos == ["busy@customer.test"]


def test_backoff_grows_exponentially_with_jitter(app):
    for attempts in range(1, 8):
        delays = [backoff_seconds(attempts, base=30, cap=3600) for _ in range(50)]
        expected = min(3600, 30 * 2 ** (attempts - 1))
        assert all(0.5 * expected <= d <= 1.5 * expected for d in delays)
        assert len(set(delays)) > 1  # jittered
