"""Three probe agents, the web server and a worker as real processes, deciding by quorum.

Each agent probes from its own source address (127.0.0.2/3/4); the target fails for the addresses
the test chooses. One location failing (quorum 2 of 3): the component stays operational, the console
and the account served from there see it. Two failing: major outage and an auto-incident. An agent
killed: its location goes stale, never down, and on-call is mailed. The web server stopped: the
agents buffer, and after it comes back every result arrives exactly once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import select

from statuspage.configfile import parse_config
from statuspage.extensions import db
from statuspage.models import Account, Check, CheckLocation, CheckResult, Component, Incident, ProbeLocation
from statuspage.services.accounts.private_links import account_view_token
from statuspage.services.config_sync import apply_config
from statuspage.services.users import create_token
from tests.support.smtp import free_port
from tests.support.target import TargetServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENTS = {"eu-west": "127.0.0.2", "us-east": "127.0.0.3", "ap-south": "127.0.0.4"}
INTERVAL = 5

CONFIG = """
page: {name: Acme, on_call: oncall@acme.example, url: "http://status.test"}
locations:
  - {id: eu-west, name: Frankfurt, stale_after: 15s}
  - {id: us-east, name: Virginia, stale_after: 15s}
  - {id: ap-south, name: Mumbai, stale_after: 15s}
components:
  - id: api
    name: Public API
    auto_incident: draft
    locations: [eu-west, us-east, ap-south]
    quorum: 2
    checks:
      - {id: api-health, kind: http, url: "URL", interval: 5s, timeout: 2s, failure_threshold: 1,
         success_threshold: 1}
accounts:
  - {id: CRM-EU, name: Euro Corp, owner: jane@acme.example, components: [api], locations: [eu-west]}
  - {id: CRM-US, name: Yankee Inc, owner: joe@acme.example, components: [api], locations: [us-east]}
"""


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _fresh(model, **where):
    db.session.expire_all()
    db.session.rollback()
    return db.session.scalar(select(model).filter_by(**where))


@pytest.mark.slow
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_three_agents_decide_by_quorum(app, app_env, smtp_server, tmp_path, db_backend):
    target = TargetServer()  # fails for the client addresses a step chooses (target.fail_for)
    apply_config(parse_config(CONFIG.replace("URL", f"{target.url}/health"), env={}))
    tokens = {loc: create_token(f"agent {loc}", "probe", location=loc)[1] for loc in AGENTS}
    _, reader = create_token("test reader", "read")
    check_id = db.session.scalar(select(Check.id).where(Check.slug == "api-health"))
    eu_link = account_view_token(db.session.scalar(select(Account).where(Account.external_id == "CRM-EU")))
    us_link = account_view_token(db.session.scalar(select(Account).where(Account.external_id == "CRM-US")))

    env = {**os.environ, **app_env, "PYTHONPATH": ROOT, "STATUSPAGE_SMTP_HOST": "127.0.0.1",
           "STATUSPAGE_SMTP_PORT": str(smtp_server.port)}
    port = free_port()
    web_url = f"http://127.0.0.1:{port}"
    procs: dict[str, subprocess.Popen] = {}

    def start_web():
        procs["web"] = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", "4",
             "-b", f"127.0.0.1:{port}", "wsgi:app"], env=env, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: _answers(web_url), 60, "the web server")

    def start_agent(loc):
        procs[loc] = subprocess.Popen(
            [sys.executable, "-m", "statuspage.cli", "probe", "--server", web_url, "--location", loc,
             "--source-address", AGENTS[loc], "--buffer", str(tmp_path / f"{loc}.sqlite")],
            env={**env, "STATUSPAGE_PROBE_TOKEN": tokens[loc]}, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"{loc}.log", "ab"))  # noqa: SIM115

    try:
        start_web()
        procs["worker"] = subprocess.Popen([sys.executable, "-m", "statuspage.cli", "worker"], env=env, cwd=ROOT,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for loc in AGENTS:
            start_agent(loc)

        # All three report; each probes from its own address; the check is up.
        _wait(lambda: set(target.peers()) >= set(AGENTS.values()), 60, "probes from 127.0.0.2/3/4")
        _wait(lambda: (c := _fresh(Check, id=check_id)) and c.status == "up", 60, "the check to be up")

        # 1. One location fails, quorum 2 of 3: nothing public changes; the console and the EU account see it.
        target.fail_for([AGENTS["eu-west"]])
        check = _wait(lambda: (c := _fresh(Check, id=check_id)) and c.partial_failures and c, 30,
                      "a below-quorum failure from eu-west")
        assert check.status == "up"
        assert [p["location"] for p in check.partial_failures] == ["eu-west"]
        assert _fresh(Component, slug="api").status == "operational"
        api = requests.get(f"{web_url}/api/v1/checks/api-health", timeout=5,
                           headers={"Authorization": f"Bearer {reader}"}).json()
        assert api["state"] == "up" and [p["location"] for p in api["partial_failures"]] == ["eu-west"]
        assert {loc["location"]: loc["status"] for loc in api["locations"]}["eu-west"] == "down"
        public = requests.get(f"{web_url}/", timeout=5).text
        assert "eu-west" not in public and "Frankfurt" not in public
        eu_view = requests.get(f"{web_url}/a/{eu_link}", timeout=5).text
        assert "eu-west" in eu_view or "Frankfurt" in eu_view
        us_view = requests.get(f"{web_url}/a/{us_link}", timeout=5).text
        assert "eu-west" not in us_view and "Frankfurt" not in us_view

        # 2. Two fail: major outage and an auto-incident.
        target.fail_for([AGENTS["eu-west"], AGENTS["us-east"]])
        _wait(lambda: _fresh(Component, slug="api").status == "major_outage", 30, "major outage")
        incident = _fresh(Incident)
        assert incident is not None and incident.source == "auto"

        # Recovery.
        target.fail_for([])
        _wait(lambda: _fresh(Component, slug="api").status == "operational", 30, "recovery")

        # 3. An agent killed: its location goes stale, never down, and on-call is told.
        procs["ap-south"].send_signal(signal.SIGKILL)
        procs["ap-south"].wait(10)
        seen_statuses = set()

        def stale():
            check = _fresh(Check, id=check_id)
            seen_statuses.add(check.status)
            return _fresh(ProbeLocation, slug="ap-south").stale_since

        _wait(stale, 60, "ap-south to go stale")
        mails = _wait(lambda: [m for m in list(smtp_server.messages) if "ap-south" in str(m.message["Subject"])],
                      30, "the on-call mail about ap-south")
        assert mails[0].rcpt_tos == ["oncall@acme.example"]
        assert "stopped reporting" in str(mails[0].message["Subject"])
        _wait(lambda: _fresh(Check, id=check_id).status == "up", 20, "the check decided by the two left")
        assert seen_statuses <= {"up"}
        assert _fresh(CheckLocation, check_id=check_id, location="ap-south").status != "down"

        # 4. The web server stopped: eu-west fails meanwhile (every failing run is stored as a row); the agent
        # buffers, then replays; every slot arrives exactly once.
        target.fail_for([AGENTS["eu-west"]])
        time.sleep(INTERVAL)  # let one failing result through first
        stopped_at = dt.datetime.now(dt.UTC)
        procs["web"].send_signal(signal.SIGTERM)
        procs["web"].wait(30)
        time.sleep(20)
        restarted_at = dt.datetime.now(dt.UTC)
        start_web()

        def replayed():
            cl = _fresh(CheckLocation, check_id=check_id, location="eu-west")
            return cl.last_slot and cl.last_slot > restarted_at + dt.timedelta(seconds=INTERVAL)

        _wait(replayed, 60, "eu-west's buffer to drain")
        slots = db.session.scalars(select(CheckResult.scheduled_for).where(
            CheckResult.check_id == check_id, CheckResult.location == "eu-west",
            CheckResult.scheduled_for >= stopped_at - dt.timedelta(seconds=INTERVAL),
            CheckResult.outcome == "down").order_by(CheckResult.scheduled_for)).all()
        assert len(slots) >= 20 // INTERVAL + 2
        gaps = {round((b - a).total_seconds(), 3) for a, b in zip(slots, slots[1:], strict=False)}
        assert gaps == {float(INTERVAL)}, f"slots missing or doubled: {slots}"
        assert slots[0] <= stopped_at <= restarted_at <= slots[-1]
        log = (tmp_path / "eu-west.log").read_text()
        assert "unreachable" in log.lower() or "buffer" in log.lower()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        target.stop()


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code < 500
    except requests.RequestException:
        return False
