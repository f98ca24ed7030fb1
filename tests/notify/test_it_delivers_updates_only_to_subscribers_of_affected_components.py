"""subscribe → confirm → incident → exactly the right recipients get one email each."""

from urllib.parse import urlsplit

from statuspage.extensions import db
from statuspage.models import Subscriber
from tests.notify.conftest import link_in
from tests.support import factories as f
from tests.support.console import csrf_from


def _subscribe_and_confirm(client, smtp_server, deliver, email, components=()):
    form = client.get("/subscribe")
    resp = client.post("/subscribe", data={"email": email, "component": list(components),
                                           "csrf_token": csrf_from(form.text)})
    assert resp.status_code == 200 and "Check your inbox" in resp.text
    before = len(smtp_server.messages)
    deliver()
    mail = smtp_server.wait_for(before + 1)[-1]
    assert mail.rcpt_tos == [email]
    assert "Confirm your subscription" in mail.message["Subject"]
    path = urlsplit(link_in(mail.message, "/subscribe/confirm/")).path
    page = client.get(path)
    # A GET (what a mail scanner does) shows a button and confirms nothing.
    assert page.status_code == 200 and "Confirm subscription" in page.text
    assert db.session.query(Subscriber).filter_by(email=email).one().confirmed_at is None
    done = client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    db.session.expire_all()


def test_it_delivers_an_update_to_exactly_the_subscribers_of_its_components(app, client, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("Public API", "api")
    dbc = f.component("Database", "db", position=1)
    _subscribe_and_confirm(client, smtp_server, deliver, "everything@customer.test")
    _subscribe_and_confirm(client, smtp_server, deliver, "api-only@customer.test", ["api"])
    _subscribe_and_confirm(client, smtp_server, deliver, "db-only@customer.test", ["db"])
    _subscribe_and_confirm(client, smtp_server, deliver, "both@customer.test", ["api", "db"])
    # Asked but never confirmed: gets nothing.
    client.post("/subscribe", json={"email": "unconfirmed@customer.test"})
    f.subscriber("gone@customer.test", unsubscribed=True)
    deliver()
    smtp_server.messages.clear()

    inc, _ = f.announced_incident("Elevated API errors", [api])
    deliver()
    got = smtp_server.wait_for(3)
    recipients = sorted(r for m in got for r in m.rcpt_tos)
    assert recipients == ["api-only@customer.test", "both@customer.test", "everything@customer.test"]
    for m in got:
        assert m.message["Subject"] == "[Acme Cloud] Investigating: Elevated API errors"
        text = m.message.get_body(("plain",)).get_content()
        assert f"http://status.test/incidents/{inc.public_id}" in text
        assert "We are investigating." in text and "Public API" in text
        html = m.message.get_body(("html",)).get_content()
        assert "Elevated API errors" in html and "Unsubscribe</a>" in html

    smtp_server.messages.clear()
    f.announced_incident("Database failover", [dbc])
    deliver()
    got = smtp_server.wait_for(3)
    assert sorted(r for m in got for r in m.rcpt_tos) == [
        "both@customer.test", "db-only@customer.test", "everything@customer.test"]
    # Nothing more is queued: one email each, no duplicates.
    assert deliver().claimed == 0 and len(smtp_server.messages) == 3
