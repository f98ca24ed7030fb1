"""A monitoring gap: the worker is down, so the checked component is not monitored for a while.

Europe/Berlin; ``api`` has a check and is monitored from 2026-03-02 09:00 UTC (config applied). Checks run
until 03-10 12:00 UTC, when the worker dies while ``api`` is in a major outage that began at 11:30. A new
worker runs checks again at 14:00 (and finds ``api`` operational). What was measured: 30 minutes of
outage (11:30–12:00). The two hours without checks are not monitored — not counted as down, and not
counted as up either.

* While the worker is down (13:00) the gap so far [12:00, 13:00) is derived from the heartbeats.
* When checks run again (14:00) the worker's heartbeat records the gap [12:00, 14:00).
* March SLA: 44,580 minutes; monitored 03-02 09:00 → 03-31 22:00 UTC (42,540 minutes) − 120 = 42,420
  → coverage 95.15…%; uptime 1 − 30/42,420 = 99.929…% → 99.92% ≥ 99.9: met. (Counting the unmeasured two
  hours as down would have said 99.64%, breached.)
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from statuspage.configfile import parse_config
from statuspage.extensions import db
from statuspage.models import Component, MonitoringGap, WorkerHeartbeat
from statuspage.services.accounts.impact import incident_impact
from statuspage.services.config_sync import apply_config
from statuspage.services.incidents.status import set_check_status
from statuspage.services.uptime import component_uptime, rollup_uptime, uptime_bars
from tests.support import factories as f
from tests.uptime import surfaces as s
from tests.uptime.heartbeats import heartbeat

T = f.T
ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
page: {name: Acme Cloud, time_zone: Europe/Berlin}
components:
  - id: api
    name: Public API
    checks: [{id: api-health, kind: tcp, host: 127.0.0.1, port: 9, interval: 30s}]
accounts:
  - {id: G-1, name: Globex, arr: 120000, sla_target: 99.9, components: [api]}
sla:
  credits: [{below: 99.0, credit_percent: 25}, {below: 99.9, credit_percent: 10}]
"""


@pytest.fixture
def down(app, clock):
    clock(T("2026-03-02 09:00"))
    apply_config(parse_config(CONFIG, env={}))
    heartbeat("w1", T("2026-03-02 09:00"))
    api = db.session.scalar(select(Component).where(Component.slug == "api"))
    clock(T("2026-03-10 11:30"))
    heartbeat("w1", T("2026-03-10 11:30"))
    set_check_status(api, "major_outage")
    inc = f.incident("API unreachable", components={api: "major_outage"}, impact="critical",
                     started_at=T("2026-03-10 11:30"))
    db.session.commit()
    clock(T("2026-03-10 11:59"))
    rollup_uptime()  # the worker's last rollup before it died
    heartbeat("w1", T("2026-03-10 12:00"))
    return api, inc


def test_while_the_worker_is_down_the_gap_so_far_is_not_monitored(down, app, client, clock, tmp_path):
    api, _ = down
    clock(T("2026-03-10 13:00"))
    read = s.read_public(app, client, "api", tmp_path, account="G-1")
    # Monitored: 03-02 09:00 → 13:00 today (8 days 4 hours = 11,760 minutes) − the 60-minute gap so far =
    # 11,700; down: 30 → 1 − 30/11,700 = 99.743…% → 99.74%. The 90-day window is 129,000 minutes: 9.06…%.
    assert set(s.ninety_day_figures(read, "api").values()) == {"99.74%"}
    assert s.ninety_day_words(read, "api") == {
        "99.74% uptime over 8 days monitored in the past 90 days (coverage 9.06%)"}
    today = s.bars(read.index, "api")[-1][1]
    # Today (from 00:00 CET = 03-09 23:00 UTC): 840 minutes so far, 780 monitored, 30 down → 96.15…%.
    assert today == ("Mar 10, 2026: Major Outage, 96.15% uptime (monitored 13 hours of the day); "
                     "incidents: API unreachable")
    assert "Monitoring Data Delayed" not in read.index  # api is down: the headline says so, and that data is delayed
    assert "Major System Outage (monitoring data delayed)" in read.index
    assert client.get("/api/v2/status.json").json["status"] == {"indicator": "critical",
                                                                "description": "Major System Outage"}


def test_the_returning_worker_records_the_gap_and_every_figure_leaves_it_out(down, app, client, runner, clock,
                                                                              tmp_path):
    api, inc = down
    clock(T("2026-03-10 14:00"))
    heartbeat("w2", T("2026-03-10 14:00"))
    inc.status, inc.resolved_at = "resolved", T("2026-03-10 14:00")  # the responder closes it as checks recover
    set_check_status(api, "operational")
    db.session.commit()
    gaps = db.session.execute(select(MonitoringGap.started_at, MonitoringGap.ended_at)).all()
    assert gaps == [(T("2026-03-10 12:00"), T("2026-03-10 14:00"))]
    heartbeat("w2", T("2026-03-10 14:00"))  # the next heartbeat: nothing new
    assert db.session.query(MonitoringGap).count() == 1

    clock(T("2026-03-10 15:00"))
    heartbeat("w2", T("2026-03-10 15:00"))  # w2 keeps running checks
    # 03-02 09:00 → 15:00 today = 11,880 minutes − 120 = 11,760 monitored; 30 down → 99.744…% → 99.74%.
    up = component_uptime([api.id], T("2026-03-01 00:00"), T("2026-03-10 15:00"))
    assert (up.components[api.id].monitored_seconds, up.components[api.id].figures.major_seconds) == (11760 * 60, 1800)
    read = s.read_public(app, client, "api", tmp_path, account="G-1")
    assert set(s.ninety_day_figures(read, "api").values()) == {"99.74%"}
    # The rollups of the days the gap touched were dropped; the bars compute them, then the job rewrites them.
    before = [b.text for b in uptime_bars([api])[api.id].days]
    rollup_uptime()
    db.session.commit()
    assert [b.text for b in uptime_bars([api])[api.id].days] == before

    # The outage minutes the account team sees count only what was measured.
    assert [(a.external_id, a.outage_minutes) for a in incident_impact(inc).accounts] == [("G-1", 30)]

    clock(T("2026-04-02 10:00"))
    heartbeat("w2", T("2026-04-02 10:00"))
    rows = s.sla_everywhere(app, client, runner, "G-1", "2026-03-01", "2026-03-31")
    s.assert_sla_row_agrees(rows, uptime="99.92%", coverage="95.15%", verdict_text="met", credit=0.0,
                            monitored_minutes=42420, period_minutes=44580)
    assert rows["api"]["major_outage_minutes"] == 30
    assert [i["name"] for i in rows["api"]["incidents"]] == ["API unreachable"]


def test_a_component_without_checks_is_not_affected_by_a_gap(down, clock):
    manual = f.component("Status of the moon", slug="moon", since=T("2026-03-02 09:00"))
    db.session.commit()
    clock(T("2026-03-10 13:00"))
    up = component_uptime([manual.id], T("2026-03-10 00:00"), T("2026-03-10 13:00"))
    assert up.components[manual.id].monitored_seconds == 13 * 3600


@pytest.mark.slow
@pytest.mark.parametrize("db_backend", ["postgresql", "sqlite"])
def test_a_real_worker_killed_and_restarted_leaves_a_recorded_gap(app, app_env, target, db_backend):
    """Real worker processes: one is killed, the next one records the time nobody ran checks."""
    target.set("*", status=200, body="ok")
    apply_config(parse_config(
        "page: {name: A}\ncomponents:\n  - id: api\n    name: API\n    auto_incident: 'off'\n    checks:\n"
        f"      - {{id: api-health, kind: http, url: '{target.url}/health', interval: 5s, timeout: 1s}}\n", env={}))
    db.session.commit()
    env = {**os.environ, **app_env, "PYTHONPATH": str(ROOT), "STATUSPAGE_MONITORING_STALE_AFTER": "10"}

    def start():
        return subprocess.Popen([sys.executable, "-m", "statuspage.cli", "worker"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def last_checks():
        db.session.expire_all()
        value = db.session.scalar(select(WorkerHeartbeat.last_checks_at).order_by(
            WorkerHeartbeat.last_checks_at.desc().nulls_last()).limit(1))
        db.session.rollback()  # never hold SQLite's write lock (BEGIN IMMEDIATE) while the workers run
        return value

    def gaps_after(moment):
        rows = db.session.scalars(select(MonitoringGap).where(MonitoringGap.started_at >= moment)).all()
        db.session.rollback()
        return rows

    first = start()
    try:
        deadline = time.monotonic() + 60
        while last_checks() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert last_checks() is not None, first.stderr.read().decode()[-2000:] if first.poll() is not None else ""
    finally:
        first.kill()  # no graceful stop: the heartbeat simply ends
        first.wait(timeout=30)
    died = last_checks()
    time.sleep(13)  # longer than STATUSPAGE_MONITORING_STALE_AFTER
    second = start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (gaps_after(died) and last_checks() > died):
            time.sleep(0.5)
    finally:
        second.send_signal(signal.SIGTERM)
        code = second.wait(timeout=60)
    assert code == 0, second.stderr.read().decode()[-2000:]
    (gap,) = gaps_after(died)
    assert gap.started_at == died
    assert (gap.ended_at - gap.started_at).total_seconds() > 10
    # (A first worker that took longer than the threshold to start leaves a gap from the install, too.)
    earlier = sum((g.ended_at - g.started_at).total_seconds() for g in db.session.scalars(
        select(MonitoringGap).where(MonitoringGap.started_at < died)))
    api = db.session.scalar(select(Component).where(Component.slug == "api"))
    now = last_checks()
    up = component_uptime([api.id], gap.started_at - dt.timedelta(hours=1), now, now=now).components[api.id]
    assert up.monitored_seconds == pytest.approx((now - api.created_at).total_seconds() - earlier
                                                 - (gap.ended_at - gap.started_at).total_seconds(), abs=1)
