"""Two web and two worker processes on one PostgreSQL: nothing done twice, nothing lost, work shared.

Real processes (gunicorn and `statuspage worker`), a real SMTP server, a real HTTP target.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import requests
from sqlalchemy import func, insert, select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check, CheckResult, OutboxMessage, Subscriber, WorkerHeartbeat
from statuspage.services.users import create_token
from tests.monitor.helpers import apply_yaml
from tests.support.smtp import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N_CHECKS = 120
N_SUBSCRIBERS = 2000


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.parametrize("db_backend", ["postgresql"])
def test_two_webs_and_two_workers_share_the_work_and_do_nothing_twice(app, app_env, target, smtp_server,
                                                                      db_backend):
    target.set("*", status=200, body="ok")
    for i in range(0, N_CHECKS, 2):  # failing runs are stored one row each; steady "up" runs are not
        target.set(f"/c/{i}", status=503, body="down")
    apply_yaml("page: {name: Acme, url: 'http://status.test'}\ncomponents:\n"
               "  - id: api\n    name: API\n    auto_incident: 'off'\n    checks:\n" + "".join(
                   f"      - {{id: c{i}, kind: http, url: '{target.url}/c/{i}', interval: 5s, timeout: 2s}}\n"
                   for i in range(N_CHECKS)))
    now = utcnow()
    db.session.execute(insert(Subscriber), [
        {"kind": "email", "email": f"user{i}@customer.test", "all_components": True, "confirmed_at": now,
         "created_at": now, "token_version": 1, "failure_count": 0, "webhook_format": "statuspage"}
        for i in range(N_SUBSCRIBERS)])
    db.session.commit()
    _token, plaintext = create_token("replica-test", "write")

    env = {**os.environ, **app_env, "PYTHONPATH": ROOT, "STATUSPAGE_SMTP_HOST": "127.0.0.1",
           "STATUSPAGE_SMTP_PORT": str(smtp_server.port), "STATUSPAGE_MAX_PROBES_IN_FLIGHT": "50"}
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", "4",
                               "-b", f"127.0.0.1:{port}", "wsgi:app"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for port in ports]
    procs += [subprocess.Popen([sys.executable, "-m", "statuspage.cli", "worker"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    web_a, web_b = (f"http://127.0.0.1:{p}" for p in ports)
    try:
        for url in (web_a, web_b):
            _wait(lambda u=url: _up(u), 60, f"{url} to answer")
        # Web B has the unresolved list cached before the change.
        assert requests.get(f"{web_b}/api/v2/incidents/unresolved.json", timeout=5).json()["incidents"] == []

        # An incident through web A (Statuspage's management API shape), notifying every subscriber.
        created = requests.post(f"{web_a}/api/v1/incidents", timeout=10,
                                headers={"Authorization": f"OAuth {plaintext}"},
                                json={"incident": {"name": "Elevated errors", "status": "investigating",
                                                   "impact_override": "major", "body": "Looking into it.",
                                                   "components": {"api": "partial_outage"},
                                                   "deliver_notifications": True}})
        assert created.status_code == 201, created.text
        # Within a second web B serves it (its memoised site version lives at most 0.5 s).
        time.sleep(1.0)
        unresolved = requests.get(f"{web_b}/api/v2/incidents/unresolved.json", timeout=5).json()["incidents"]
        assert [i["name"] for i in unresolved] == ["Elevated errors"]

        # Every subscriber gets the mail once, delivered by both workers.
        _wait(lambda: len(smtp_server.messages) >= N_SUBSCRIBERS, 240, f"{N_SUBSCRIBERS} messages")
        # Checks: several slots each.
        _wait(lambda: min(target.hits(f"/c/{i}") for i in range(N_CHECKS)) >= 3, 90, "three runs per check")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=60) for p in procs]
    assert codes == [0, 0, 0, 0], [p.stderr.read().decode()[-2000:] for p in procs[2:]]

    time.sleep(0.5)  # let straggling SMTP sessions land
    per_recipient = Counter(r for m in smtp_server.messages for r in m.rcpt_tos)
    assert len(per_recipient) == N_SUBSCRIBERS
    duplicates = sum(c - 1 for c in per_recipient.values())
    db.session.expire_all()
    senders = dict(db.session.execute(select(OutboxMessage.claimed_by, func.count())
                                      .where(OutboxMessage.status == "sent").group_by(OutboxMessage.claimed_by)).all())
    per_check = dict(db.session.execute(select(Check.slug, func.count(CheckResult.id))
                                        .join(CheckResult, CheckResult.check_id == Check.id)
                                        .where(CheckResult.status_code.is_not(None)).group_by(Check.slug)).all())
    check_workers = dict(db.session.execute(select(CheckResult.worker_id, func.count())
                                            .group_by(CheckResult.worker_id)).all())
    print(f"\nmail: {sum(per_recipient.values())} messages to {len(per_recipient)} recipients, {duplicates} duplicates, "
          f"sent per worker {sorted(senders.values())}; checks per worker {sorted(check_workers.values())}")
    assert duplicates == 0
    assert len(senders) == 2 and min(senders.values()) > 0
    for i in range(0, N_CHECKS, 2):
        assert target.hits(f"/c/{i}") == per_check.get(f"c{i}", 0)
    runs = db.session.scalar(select(func.sum(WorkerHeartbeat.checks_run)))
    unanswered = db.session.scalar(select(func.count()).select_from(CheckResult)
                                   .where(CheckResult.status_code.is_(None)))  # no HTTP answer: never logged
    assert runs - unanswered == sum(target.hits(f"/c/{i}") for i in range(N_CHECKS))
    assert len(check_workers) == 2 and min(check_workers.values()) > 0


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False
