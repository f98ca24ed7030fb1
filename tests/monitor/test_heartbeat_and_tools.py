"""Heartbeat push URLs, run-once for writing conditions, 24 h latency in the console and the API."""

import datetime as dt

from sqlalchemy import func, select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check, CheckResult, Component, OutboxMessage
from statuspage.services.monitoring.rollups import latency_24h

from .helpers import apply_yaml, one_component, tick

HEARTBEAT = """
page: {name: Acme, on_call: oncall@acme.example}
components:
  - id: backups
    name: Nightly backups
    public: false
    auto_incident: "off"
    checks:
      - {id: nightly-backup, kind: heartbeat, interval: 1h, grace: 10m}
"""


def test_a_missed_heartbeat_goes_down_and_a_ping_brings_it_back(app, client):
    apply_yaml(HEARTBEAT)
    check = db.session.scalar(select(Check))
    assert check.heartbeat_token and check.next_run_at - utcnow() <= dt.timedelta(seconds=61)
    start = check.created_at
    tick(start + dt.timedelta(minutes=30))
    assert db.session.scalar(select(Component.status)) == "operational"
    tick(start + dt.timedelta(minutes=71))
    db.session.expire_all()
    assert db.session.scalar(select(Component.status)) == "major_outage"
    alert = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "oncall_alert"))
    assert alert.recipient == "oncall@acme.example" and alert.payload["status"] == "major_outage"

    resp = client.post(f"/ping/{check.heartbeat_token}")
    assert resp.status_code == 200
    db.session.expire_all()
    tick(utcnow() + dt.timedelta(seconds=1))
    db.session.expire_all()
    assert db.session.scalar(select(Component.status)) == "operational"


def test_an_unknown_ping_token_is_a_json_404(client):
    resp = client.get("/ping/nope")
    assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found"


def test_run_once_prints_every_resolved_condition(app, runner, target):
    url = target.set("/h", status=503, body='{"status": "down"}')
    apply_yaml(one_component(url, check_extra='conditions: ["[STATUS] == 200", "[BODY].status == ok"]'))
    result = runner.invoke(args=["checks", "run-once", "api-health"])
    assert result.exit_code == 3
    assert "DOWN" in result.output
    assert "✗ [STATUS] (503) == 200" in result.output
    assert "[BODY].status (down) == ok" in result.output
    assert db.session.scalar(select(func.count()).select_from(CheckResult)) == 0  # records nothing
    missing = runner.invoke(args=["checks", "run-once", "nope"])
    assert missing.exit_code == 1 and "no check named 'nope'" in missing.output


def test_latency_24h_has_24_hourly_points(app, target):
    url = target.set("/h", status=200)
    apply_yaml(one_component(url))
    tick(utcnow() + dt.timedelta(seconds=11))
    points = latency_24h(db.session.scalar(select(Check.id)))
    assert len(points) == 24 and points[-1]["runs"] == 1 and points[-1]["p50_ms"] is not None


def test_console_and_api_show_the_latest_result_state_and_24h_latency(app, client, target):
    from statuspage.services.users import create_token, create_user

    url = target.set("/h", status=503)
    apply_yaml(one_component(url))
    tick(utcnow() + dt.timedelta(seconds=11))
    _, token = create_token("reader", "read")
    body = client.get("/api/v1/checks/api-health", headers={"Authorization": f"Bearer {token}"}).json
    assert body["last_result"]["conditions"][0]["resolved"] == "[STATUS] (503) < 400"
    assert len(body["latency_24h"]) == 24 and body["latency_24h"][-1]["failures"] == 1
    create_user("viewer@acme.example", "viewer", "correct horse battery")
    with client.session_transaction() as sess:
        user = db.session.scalar(select(__import__("statuspage.models", fromlist=["User"]).User))
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
    html = client.get("/admin/checks/api-health").get_data(as_text=True)
    assert "[STATUS] (503) &lt; 400" in html and "Last 24 hours" in html
