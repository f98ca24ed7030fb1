"""Webhook subscribers: Statuspage-shaped JSON, HMAC-SHA256 signature, retries, quarantine, Slack format."""

import datetime as dt
import json

import time_machine

from statuspage.extensions import db
from statuspage.models import OutboxMessage, Subscriber
from statuspage.services.users import create_token
from statuspage.transports.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.support import factories as f


def _add_webhook(client, url, **extra):
    _, token = create_token("ci", "write")
    resp = client.post("/api/v1/subscribers", json={"kind": "webhook", "url": url, **extra},
                       headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201, resp.text
    return resp.get_json()


def test_webhook_body_is_statuspage_shaped_and_signed(app, client, receiver, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("Public API", "api")
    f.component("Database", "db")
    hook = _add_webhook(client, receiver.url + "/hooks/status", components=["api"])
    assert hook["secret"].startswith("whsec_") and hook["components"] == ["api"]
    inc, upd = f.announced_incident("Elevated API errors", [api])
    assert deliver().sent == 1
    (req,) = receiver.wait_for(1)
    assert req.path == "/hooks/status" and req.headers["Content-Type"] == "application/json"
    assert verify(hook["secret"], req.headers[TIMESTAMP_HEADER], req.body, req.headers[SIGNATURE_HEADER])
    assert not verify("whsec_wrong", req.headers[TIMESTAMP_HEADER], req.body, req.headers[SIGNATURE_HEADER])
    assert not verify(hook["secret"], req.headers[TIMESTAMP_HEADER], req.body + b" ", req.headers[SIGNATURE_HEADER])
    body = json.loads(req.body)
    assert body["meta"]["unsubscribe"].startswith("http://status.test/unsubscribe/")
    assert "documentation" in body["meta"]
    assert body["page"] == {"id": "acmepage", "status_indicator": "none",
                            "status_description": "All Systems Operational"}
    assert body["incident"]["id"] == inc.public_id and body["incident"]["name"] == "Elevated API errors"
    assert body["incident"]["shortlink"] == f"http://status.test/incidents/{inc.public_id}"
    assert body["incident"]["incident_updates"][0]["id"] == upd.public_id
    assert body["incident"]["incident_updates"][0]["body"] == "We are investigating."
    assert body["incident"]["components"] == [{"id": "api", "name": "Public API", "status": "major_outage"}]

    # Not subscribed to the database: nothing for a database incident.
    f.announced_incident("DB slow", [db.session.query(type(api)).filter_by(slug="db").one()])
    assert deliver().claimed == 0


def test_slack_format_has_text_and_blocks(app, client, receiver, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("Public API", "api")
    _add_webhook(client, receiver.url + "/slack", format="slack")
    f.announced_incident("Elevated API errors", [api])
    deliver()
    body = json.loads(receiver.wait_for(1)[0].body)
    assert body["text"].startswith("[Acme Cloud] New incident: Elevated API errors")
    assert body["blocks"][0]["type"] == "header"
    assert any("We are investigating." in b.get("text", {}).get("text", "") for b in body["blocks"])


def test_failing_webhook_is_retried_with_backoff_then_quarantined(app, client, receiver, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    hook = _add_webhook(client, receiver.url + "/flaky")
    receiver.default_status = 503
    f.announced_incident("Outage", [api])
    now = dt.datetime.now(dt.UTC)
    assert deliver().retried == 1
    row = db.session.query(OutboxMessage).one()
    assert row.status == "pending" and "HTTP 503" in row.last_error
    for minutes in (10, 30, 90, 240):  # each attempt after its backoff; the 5th failure quarantines
        with time_machine.travel(now + dt.timedelta(minutes=minutes)):
            deliver()
    db.session.expire_all()
    sub = db.session.get(Subscriber, hook["id"])
    assert sub.quarantined_at is not None and sub.failure_count == 5
    assert len(receiver.requests) == 5
    row = db.session.query(OutboxMessage).one()
    assert row.status == "cancelled" and "quarantined" in row.last_error
    # The API shows the state.
    _, token = create_token("reader", "read")
    got = client.get(f"/api/v1/subscribers/{hook['id']}", headers={"Authorization": f"Bearer {token}"})
    assert got.get_json()["state"] == "quarantined"


def test_a_recovering_webhook_is_delivered_on_retry(app, client, receiver, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    _add_webhook(client, receiver.url + "/once-down")
    receiver.statuses = [500]
    f.announced_incident("Outage", [api])
    now = dt.datetime.now(dt.UTC)
    assert deliver().retried == 1
    with time_machine.travel(now + dt.timedelta(minutes=5)):
        assert deliver().sent == 1
    assert len(receiver.requests) == 2
    assert db.session.query(OutboxMessage).one().status == "sent"
