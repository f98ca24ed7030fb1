"""Issue 17, item 15: subscriber links.

* After a one-click unsubscribe, the confirmation link mailed earlier does not re-activate the
  subscription (before: it did).
* A pending address gets at most one confirmation mail per interval however often the form is sent
  (before: one a minute), and the answer to the form stays the same (no enumeration).
"""

import datetime as dt

import time_machine

from statuspage.extensions import db
from statuspage.models import OutboxMessage, Subscriber
from statuspage.services.notifications import tokens
from tests.notify.conftest import link_in
from tests.support import factories as f
from tests.support.console import csrf_from


def _confirm_link(smtp_server, deliver, n: int):
    deliver()
    return link_in(smtp_server.wait_for(n)[n - 1].message, "/subscribe/confirm/")


def test_an_old_confirmation_link_does_not_revive_an_unsubscribed_address(app, client, smtp_server, deliver):
    f.page(name="Acme Cloud")
    assert client.post("/subscribe", json={"email": "ops@customer.test"}).status_code == 202
    confirm = _confirm_link(smtp_server, deliver, 1).replace("http://status.test", "")
    page = client.get(confirm)
    client.post(confirm, data={"csrf_token": csrf_from(page.text)})
    sub = db.session.query(Subscriber).one()
    assert sub.active

    unsubscribe = f"/unsubscribe/{tokens.make_token(sub.id, sub.token_version, 'unsubscribe')}"
    assert client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    db.session.expire_all()
    assert sub.state == "unsubscribed"

    again = client.get(confirm)
    assert again.status_code == 400 and "cancelled" in again.text
    resp = client.post(confirm, data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 400
    db.session.expire_all()
    assert sub.state == "unsubscribed"

    # Asking again starts over: a new link works, the old one still does not.
    assert client.post("/subscribe", json={"email": "ops@customer.test"}).status_code == 202
    fresh = _confirm_link(smtp_server, deliver, 2).replace("http://status.test", "")
    assert client.post(confirm, data={"csrf_token": csrf_from(page.text)}).status_code == 400
    assert client.post(fresh, data={"csrf_token": csrf_from(client.get(fresh).text)}).status_code == 200
    db.session.expire_all()
    assert sub.state == "active"


def test_a_pending_address_gets_one_confirmation_mail_per_interval(app, client):
    now = dt.datetime.now(dt.UTC)
    with time_machine.travel(now, tick=False):
        answers = {client.post("/subscribe", json={"email": "victim@customer.test"}).get_data() for _ in range(3)}
    assert len(answers) == 1  # the same answer whether a mail went out or not
    for minutes in (2, 10, 59):  # every few minutes within the hour, as the flood did
        with time_machine.travel(now + dt.timedelta(minutes=minutes), tick=False):
            assert client.post("/subscribe", json={"email": "victim@customer.test"}).status_code == 202
    assert db.session.query(OutboxMessage).filter_by(kind="subscribe_confirm").count() == 1
    with time_machine.travel(now + dt.timedelta(minutes=61), tick=False):
        client.post("/subscribe", json={"email": "victim@customer.test"})
    assert db.session.query(OutboxMessage).filter_by(kind="subscribe_confirm").count() == 2


def test_an_active_subscriber_is_not_flooded_with_manage_links_either(app, client):
    f.subscriber("ops@customer.test")
    for _ in range(4):
        assert client.post("/subscribe", json={"email": "ops@customer.test"}).status_code == 202
    assert db.session.query(OutboxMessage).filter_by(kind="subscribe_manage").count() == 1
