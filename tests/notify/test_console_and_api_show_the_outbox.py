"""Console pages and /api/v1 for subscribers and outbox rows: state, attempts, last error, retry."""

from statuspage.extensions import db
from statuspage.models import OutboxMessage, Subscriber
from statuspage.services.users import create_token
from tests.support import factories as f
from tests.support.console import csrf_from, login


def _failed_row(smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("Public API", "api")
    f.subscriber("gone@customer.test")
    smtp_server.rcpt_reply = "550 No such user"
    f.announced_incident("Outage", [api])
    deliver()
    smtp_server.rcpt_reply = None
    return db.session.query(OutboxMessage).one()


def test_console_lists_rows_by_status_and_retries_a_failed_one(app, client, smtp_server, deliver):
    row = _failed_row(smtp_server, deliver)
    login(client, "responder")
    page = client.get("/admin/outbox?status=failed")
    assert page.status_code == 200
    assert "gone@customer.test" in page.text and "550 No such user" in page.text and "Retry" in page.text
    assert "Nothing here." in client.get("/admin/outbox?status=sent").text
    resp = client.post(f"/admin/outbox/{row.id}/retry", data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(OutboxMessage, row.id).status == "pending"
    assert deliver().sent == 1


def test_viewers_read_but_cannot_retry(app, client, smtp_server, deliver):
    row = _failed_row(smtp_server, deliver)
    login(client, "viewer")
    page = client.get("/admin/outbox")
    assert page.status_code == 200
    assert client.post(f"/admin/outbox/{row.id}/retry", data={"csrf_token": csrf_from(page.text)}).status_code == 403


def test_console_adds_a_webhook_and_lists_subscribers(app, client):
    f.page(name="Acme Cloud", public_id="acmepage")
    f.component("Public API", "api")
    f.subscriber("ops@customer.test")
    login(client, "responder")
    page = client.get("/admin/subscribers")
    assert page.status_code == 200 and "ops@customer.test" in page.text
    resp = client.post("/admin/subscribers/webhooks", data={
        "csrf_token": csrf_from(page.text), "url": "https://hooks.customer.test/status", "format": "slack",
        "component": ["api"]}, follow_redirects=True)
    assert "signing secret (shown only now): whsec_" in resp.text
    hook = db.session.query(Subscriber).filter_by(kind="webhook").one()
    assert hook.webhook_format == "slack" and hook.active
    bad = client.post("/admin/subscribers/webhooks", data={"csrf_token": csrf_from(page.text), "url": "ftp://x"},
                      follow_redirects=True)
    assert "Webhook not added: enter an absolute http(s) URL." in bad.text


def test_api_reads_the_outbox_and_manages_subscribers(app, client, smtp_server, deliver):
    row = _failed_row(smtp_server, deliver)
    _, read = create_token("reader", "read")
    _, write = create_token("writer", "write")
    auth_r = {"Authorization": f"Bearer {read}"}
    auth_w = {"Authorization": f"Bearer {write}"}

    assert client.get("/api/v1/outbox").status_code == 401
    body = client.get("/api/v1/outbox?status=failed", headers=auth_r).get_json()
    assert body["counts"] == {"failed": 1}
    (msg,) = body["messages"]
    assert msg["id"] == row.id and msg["attempts"] == 1 and "550" in msg["last_error"]
    bad = client.get("/api/v1/outbox?status=lost", headers=auth_r)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_request"
    assert client.get("/api/v1/outbox?limit=0", headers=auth_r).status_code == 400
    assert client.get("/api/v1/outbox/999999", headers=auth_r).status_code == 404

    assert client.post(f"/api/v1/outbox/{row.id}/retry", headers=auth_r).status_code == 403
    retried = client.post(f"/api/v1/outbox/{row.id}/retry", headers=auth_w)
    assert retried.status_code == 200 and retried.get_json()["status"] == "pending"
    again = client.post(f"/api/v1/outbox/{row.id}/retry", headers=auth_w)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"

    subs_body = client.get("/api/v1/subscribers?state=active", headers=auth_r).get_json()
    assert subs_body["total"] == 1 and subs_body["subscribers"][0]["email"] == "gone@customer.test"
    invalid = client.post("/api/v1/subscribers", json={"kind": "webhook", "url": "not a url"}, headers=auth_w)
    assert invalid.status_code == 422 and "url" in invalid.get_json()["error"]["fields"]
    invalid = client.post("/api/v1/subscribers", json={"kind": "pigeon"}, headers=auth_w)
    assert invalid.status_code == 400 and invalid.get_json()["error"]["fields"] == {
        "kind": "must be one of webhook, email, not 'pigeon'"}
    email = client.post("/api/v1/subscribers", json={"kind": "email", "email": "new@customer.test"}, headers=auth_w)
    assert email.status_code == 202  # still double opt-in
    sub_id = subs_body["subscribers"][0]["id"]
    gone = client.delete(f"/api/v1/subscribers/{sub_id}", headers=auth_w)
    assert gone.status_code == 200 and gone.get_json()["state"] == "unsubscribed"
