"""RFC 8058: a POST with List-Unsubscribe=One-Click to the List-Unsubscribe URL unsubscribes at once."""

from urllib.parse import urlsplit

from statuspage.extensions import db
from statuspage.models import OutboxMessage, Subscriber
from tests.support import factories as f


def _unsubscribe_path(mail) -> str:
    url = str(mail.message["List-Unsubscribe"]).split(",")[0].strip().strip("<>")
    return urlsplit(url).path


def test_one_click_post_unsubscribes_and_stops_queued_mail(app, client, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    sub = f.subscriber("ops@customer.test")
    inc, _ = f.announced_incident("Outage", [api])
    deliver()
    path = _unsubscribe_path(smtp_server.wait_for(1)[0])

    # A queued update that has not gone out yet must not go out after the unsubscribe.
    f.announced_update(inc, "identified", "Found it.")
    # No cookies, no CSRF token: exactly what a mailbox provider sends.
    resp = client.post(path, data="List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 200 and resp.get_json() == {"status": "unsubscribed"}
    db.session.expire_all()
    assert db.session.get(Subscriber, sub.id).unsubscribed_at is not None
    assert db.session.query(OutboxMessage).filter_by(status="pending").count() == 0
    deliver()
    f.announced_update(inc, "resolved", "Fixed.", event="incident_resolved")
    deliver()
    assert len(smtp_server.messages) == 1


def test_get_on_the_unsubscribe_link_only_asks(app, client, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    sub = f.subscriber("ops@customer.test")
    f.announced_incident("Outage", [api])
    deliver()
    path = _unsubscribe_path(smtp_server.wait_for(1)[0])
    page = client.get(path)
    assert page.status_code == 200 and "Stop sending" in page.text
    db.session.expire_all()
    assert db.session.get(Subscriber, sub.id).unsubscribed_at is None
    # The page's button posts without the one-click body.
    done = client.post(path)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    db.session.expire_all()
    assert db.session.get(Subscriber, sub.id).unsubscribed_at is not None
