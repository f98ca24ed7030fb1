"""No enumeration: the subscribe answer is identical for new, pending, subscribed and unsubscribed."""

import re

from statuspage.extensions import db
from statuspage.models import OutboxMessage
from tests.support import factories as f
from tests.support.console import csrf_from


def _normalised(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_the_html_answer_does_not_depend_on_the_address(app, client):
    f.page(name="Acme Cloud", public_id="acmepage")
    f.subscriber("known@customer.test")
    f.subscriber("pending@customer.test", confirmed=False)
    f.subscriber("left@customer.test", unsubscribed=True)
    answers = []
    for email in ("known@customer.test", "unknown@customer.test", "pending@customer.test",
                  "left@customer.test"):
        token = csrf_from(client.get("/subscribe").text)
        resp = client.post("/subscribe", data={"email": email, "csrf_token": token})
        answers.append((resp.status_code, _normalised(resp.text).replace(email, "EMAIL")))
    assert len(set(answers)) == 1 and answers[0][0] == 200


def test_the_json_answer_does_not_depend_on_the_address(app, client):
    f.page(name="Acme Cloud", public_id="acmepage")
    f.subscriber("known@customer.test")
    known = client.post("/subscribe", json={"email": "known@customer.test"})
    unknown = client.post("/subscribe", json={"email": "unknown@customer.test"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    assert dict(known.headers).keys() == dict(unknown.headers).keys()


def test_a_subscribed_address_gets_a_manage_link_instead_of_a_confirmation(app, client, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    f.subscriber("known@customer.test")
    client.post("/subscribe", json={"email": "known@customer.test"})
    client.post("/subscribe", json={"email": "new@customer.test"})
    deliver()
    got = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(2)}
    assert got["known@customer.test"]["Subject"] == "[Acme Cloud] Your subscription"
    assert "/subscribe/manage/" in got["known@customer.test"].get_body(("plain",)).get_content()
    assert got["new@customer.test"]["Subject"] == "[Acme Cloud] Confirm your subscription"
    # A confirmation is not list mail: nothing to one-click unsubscribe from yet.
    assert got["new@customer.test"]["List-Unsubscribe"] is None
    assert db.session.query(OutboxMessage).filter_by(status="sent").count() == 2


def test_invalid_input_is_a_clear_error(app, client):
    f.page(name="Acme Cloud", public_id="acmepage")
    f.component("API", "api")
    resp = client.post("/subscribe", json={"email": "not-an-address"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["fields"] == {"email": "Enter a valid email address, like name@example.com."}
    resp = client.post("/subscribe", json={"email": "a@customer.test", "components": ["nope"]})
    assert resp.status_code == 400 and "component" in resp.get_json()["error"]["fields"]
    resp = client.post("/subscribe", json=["not", "an", "object"])
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_json"
    token = csrf_from(client.get("/subscribe").text)
    resp = client.post("/subscribe", data={"email": "", "csrf_token": token})
    assert resp.status_code == 400 and "Enter your email address." in resp.text
    # A form post without a CSRF token is refused.
    assert client.post("/subscribe", data={"email": "a@customer.test"}).status_code == 400
