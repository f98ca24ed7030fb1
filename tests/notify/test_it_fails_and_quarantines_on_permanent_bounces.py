"""550 (permanent): the row fails and counts a bounce; three in a row quarantine the subscriber."""

from statuspage.extensions import db
from statuspage.models import OutboxMessage, Subscriber
from tests.support import factories as f


def test_550_fails_the_row_and_quarantines_after_repeated_bounces(app, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    sub = f.subscriber("gone@customer.test")
    smtp_server.rcpt_reply = "550 5.1.1 No such user"
    for n in range(1, 4):
        inc, _ = f.announced_incident(f"Outage {n}", [api])
        stats = deliver()
        assert stats.failed == 1 and stats.sent == 0
        row = db.session.query(OutboxMessage).filter_by(incident_id=inc.id).one()
        assert row.status == "failed" and row.attempts == 1 and "550" in row.last_error
        db.session.expire_all()
        assert db.session.get(Subscriber, sub.id).failure_count == n
    quarantined = db.session.get(Subscriber, sub.id)
    assert quarantined.quarantined_at is not None and "550" in quarantined.last_error
    # Quarantined: the next incident does not even queue a row for them.
    inc, _ = f.announced_incident("Outage 4", [api])
    assert db.session.query(OutboxMessage).filter_by(incident_id=inc.id).count() == 0


def test_a_success_resets_the_bounce_count(app, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    sub = f.subscriber("flaky@customer.test")
    smtp_server.rcpt_reply = "550 mailbox unavailable"
    f.announced_incident("One", [api])
    deliver()
    smtp_server.rcpt_reply = None
    f.announced_incident("Two", [api])
    deliver()
    db.session.expire_all()
    assert db.session.get(Subscriber, sub.id).failure_count == 0
