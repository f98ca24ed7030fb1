"""The probe engine watches itself: probes in flight, start lag, saturation and errors by kind reach
/healthz/monitoring (503 when checks start late), /metrics and the console, from the workers' heartbeats."""

import datetime as dt

import pytest
from sqlalchemy import select

from statuspage.config import load_settings
from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import User, WorkerHeartbeat
from statuspage.services.users import create_user
from tests.monitor.helpers import apply_yaml

CFG = """
page: {name: Acme}
components:
  - id: api
    name: API
    checks: [{id: api-health, kind: tcp, host: 127.0.0.1, port: 9, interval: 30s}]
"""


def _worker(worker_id: str, *, lag_p99: float, waiting: int = 0, errors=None):
    now = utcnow()
    db.session.add(WorkerHeartbeat(
        id=worker_id, hostname="h", pid=1, started_at=now, last_seen_at=now, last_checks_at=now,
        stats={"in_flight": 900, "running": 800, "waiting": waiting, "max_in_flight": 800, "lag_p50": 0.02,
               "lag_p99": lag_p99, "lag_max": lag_p99, "saturated": waiting > 0, "runs": 5000,
               "skipped_slots": 0, "errors": errors or {}}))
    db.session.commit()


@pytest.mark.parametrize(("lag_p99", "code", "status"), [(0.4, 200, "ok"), (12.0, 503, "lagging")],
                         ids=["on-time", "late"])
def test_healthz_monitoring_turns_503_when_checks_start_late(app, client, lag_p99, code, status):
    apply_yaml(CFG)
    _worker("w1", lag_p99=0.1)
    _worker("w2", lag_p99=lag_p99, waiting=300 if code == 503 else 0)
    resp = client.get("/healthz/monitoring")
    assert (resp.status_code, resp.json["status"]) == (code, status)
    assert resp.json["start_lag_p99_seconds"] == lag_p99 and resp.json["max_start_lag_seconds"] == 10.0
    if code == 503:
        assert resp.json["saturated_workers"] == 1
        assert "p99 start lag 12.0 s over the last minute (threshold 10 s)" in resp.json["message"]


def test_a_stopped_or_silent_workers_lag_no_longer_counts(app, client):
    apply_yaml(CFG)
    _worker("gone", lag_p99=50.0)
    db.session.get(WorkerHeartbeat, "gone").last_seen_at = utcnow() - dt.timedelta(minutes=5)
    _worker("live", lag_p99=0.2)
    db.session.commit()
    assert client.get("/healthz/monitoring").status_code == 200


def test_metrics_show_each_workers_probes_lag_saturation_and_errors(app, client):
    apply_yaml(CFG)
    _worker("w1", lag_p99=2.5, waiting=40, errors={"http": {"timeout": 7, "refused": 2}, "dns": {"timeout": 1}})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'statuspage_worker_probes_in_flight{worker="w1"} 800.0' in text
    assert 'statuspage_worker_probes_waiting{worker="w1"} 40.0' in text
    assert 'statuspage_worker_saturated{worker="w1"} 1.0' in text
    assert 'statuspage_worker_start_lag_seconds{quantile="0.99",worker="w1"} 2.5' in text
    assert 'statuspage_worker_check_errors_total{error_class="timeout",kind="http",worker="w1"} 7.0' in text
    assert 'statuspage_worker_check_errors_total{error_class="timeout",kind="dns",worker="w1"} 1.0' in text


def test_the_console_shows_the_monitoring_engine(app, client):
    apply_yaml(CFG)
    _worker("vm:1234:abc", lag_p99=12.0, waiting=300, errors={"http": {"timeout": 3}})
    create_user("viewer@acme.example", "viewer", "correct horse battery")
    with client.session_transaction() as sess:
        sess["_user_id"] = db.session.scalar(select(User)).get_id()
        sess["_fresh"] = True
    html = client.get("/admin/").get_data(as_text=True)
    section = html[html.index('id="monitoring-engine"'):]
    section = section[:section.index("</section>")]
    assert "Checks start late" in section and "vm:1234:abc" in section and "saturated" in section
    assert "800 / 800" in section and "0.02 s / 12.00 s" in section and "http: timeout 3" in section


def test_the_old_thread_setting_is_a_deprecated_alias(tmp_path):
    base = {"STATUSPAGE_INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k" * 32}
    assert load_settings(base).max_probes_in_flight == 2000
    old = load_settings({**base, "STATUSPAGE_WORKER_THREADS": "64"})
    assert old.max_probes_in_flight == 64 and old.deprecated == ["STATUSPAGE_WORKER_THREADS"]
    both = load_settings({**base, "STATUSPAGE_WORKER_THREADS": "64", "STATUSPAGE_MAX_PROBES_IN_FLIGHT": "5000"})
    assert both.max_probes_in_flight == 5000 and both.deprecated == []
