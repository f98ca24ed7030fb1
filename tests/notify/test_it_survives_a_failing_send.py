"""An unexpected error while sending one message (a bug, not an SMTP answer) fails that attempt only:
the row is retried later with the error recorded, everyone else gets their mail, nothing hangs."""

from statuspage.extensions import db
from statuspage.models import OutboxMessage
from statuspage.transports.smtp import SMTPTransport
from tests.support import factories as f


def test_one_broken_send_does_not_stop_the_fan_out(app, smtp_server, deliver, monkeypatch):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.many_subscribers(40)
    f.announced_incident("Elevated errors", [api])
    real_send = SMTPTransport.send

    def send(self, sender, recipient, message):
        if recipient == "user7@example.test":
            raise KeyError("a bug in the transport")  # our seam: not a DeliveryError
        return real_send(self, sender, recipient, message)

    monkeypatch.setattr(SMTPTransport, "send", send)
    stats = deliver()
    assert stats.sent == 39 and stats.retried == 1
    assert len(smtp_server.wait_for(39)) == 39
    row = db.session.query(OutboxMessage).filter_by(recipient="user7@example.test").one()
    assert row.status == "pending" and row.attempts == 1 and "internal error: KeyError" in row.last_error
