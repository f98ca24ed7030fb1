"""When no worker runs checks, the app says so (and tells on-call) instead of a stale all-clear."""

import datetime as dt

from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import OutboxMessage, WorkerHeartbeat
from statuspage.services.monitoring.selfcheck import alert_if_monitoring_delayed, monitoring_state
from tests.monitor.helpers import apply_yaml

CFG = """
page: {name: Acme, on_call: oncall@acme.example}
components:
  - id: api
    name: API
    checks: [{id: api-health, kind: tcp, host: 127.0.0.1, port: 9, interval: 30s}]
"""


def test_fresh_install_gets_one_period_before_it_is_delayed(app):
    apply_yaml(CFG)
    assert monitoring_state(300).delayed is False
    assert monitoring_state(300, utcnow() + dt.timedelta(seconds=301)).delayed is True


def test_stale_worker_heartbeat_means_delayed_and_alerts_once(app, client):
    apply_yaml(CFG)
    now = utcnow()
    db.session.add(WorkerHeartbeat(id="w1", hostname="h", pid=1, started_at=now, last_seen_at=now,
                                   last_checks_at=now - dt.timedelta(seconds=400)))
    db.session.commit()
    state = monitoring_state(300)
    assert state.delayed and "checks last ran at" in state.message
    resp = client.get("/healthz/monitoring")
    assert resp.status_code == 503 and resp.json["status"] == "delayed"
    assert alert_if_monitoring_delayed(300) is True
    assert alert_if_monitoring_delayed(300) is True  # same stall: insert-or-ignore keeps one row
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "oncall_alert")).all()
    assert len(rows) == 1 and rows[0].recipient == "oncall@acme.example"


def test_recent_check_runs_mean_current(app, client):
    apply_yaml(CFG)
    now = utcnow()
    db.session.add(WorkerHeartbeat(id="w1", hostname="h", pid=1, started_at=now, last_seen_at=now,
                                   last_checks_at=now - dt.timedelta(seconds=5)))
    db.session.commit()
    assert client.get("/healthz/monitoring").status_code == 200
    assert alert_if_monitoring_delayed(300) is False


def test_the_trust_page_and_api_say_monitoring_is_delayed_instead_of_all_clear(app, client):
    apply_yaml(CFG)
    assert client.get("/api/v2/status.json").json["status"]["description"] == "All Systems Operational"
    now = utcnow()
    db.session.add(WorkerHeartbeat(id="w1", hostname="h", pid=1, started_at=now, last_seen_at=now,
                                   last_checks_at=now - dt.timedelta(seconds=900)))
    db.session.commit()
    from statuspage.services.site import public as public_site

    public_site._DELAY_MEMO[0] = 0.0  # as if its 5 s memo ran out
    status = client.get("/api/v2/status.json").json["status"]
    # The API keeps Statuspage's words: monitoring itself is out, never a stale all-clear.
    assert status == {"indicator": "minor", "description": "Minor Service Outage"}
    html = client.get("/").get_data(as_text=True)
    assert "Monitoring Data Delayed" in html and "All Systems Operational" not in html
    assert "have not reported recently" in html
