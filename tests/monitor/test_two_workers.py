"""Two real worker processes on one database run every (check, slot) exactly once and share the work.

Half the checks fail, so each of their runs is stored as a result row (steady "up" runs are not):
for those, probes seen by the target equal rows, per check. For all of them, probes seen equal the runs
the workers report in their heartbeats."""

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from statuspage.extensions import db
from statuspage.models import Check, CheckResult, WorkerHeartbeat

from .helpers import apply_yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
@pytest.mark.parametrize("db_backend", ["postgresql", "sqlite"])
def test_two_workers_run_each_slot_once(app, app_env, target, db_backend):
    n = 60
    target.set("*", status=200, body="ok")
    for i in range(0, n, 2):
        target.set(f"/c/{i}", status=503, body="down")
    apply_yaml("page: {name: A}\ncomponents:\n  - id: c\n    name: C\n    auto_incident: 'off'\n    checks:\n" + "".join(
        f"      - {{id: chk-{i}, kind: http, url: '{target.url}/c/{i}', interval: 5s, timeout: 2s}}\n"
        for i in range(n)))
    env = {**os.environ, **app_env, "PYTHONPATH": ROOT, "STATUSPAGE_MAX_PROBES_IN_FLIGHT": "50"}
    workers = [subprocess.Popen([sys.executable, "-m", "statuspage.cli", "worker"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=open(f"/tmp/tw-{db_backend}-{k}.log", "w")) for k in range(2)]
    try:
        # Several intervals: until every check has run at least 3 times (bounded, for a loaded machine).
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            time.sleep(1)
            if min(target.hits(f"/c/{i}") for i in range(n)) >= 3:
                break
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        codes = [w.wait(timeout=60) for w in workers]
    assert codes == [0, 0], [w.stderr.read().decode()[-2000:] for w in workers]

    db.session.expire_all()
    per_check = dict(db.session.execute(
        select(Check.slug, func.count(CheckResult.id)).join(CheckResult, CheckResult.check_id == Check.id)
        .where(CheckResult.status_code.is_not(None)).group_by(Check.slug)).all())  # runs the target answered
    total_hits = 0
    for i in range(n):
        hits = target.hits(f"/c/{i}")
        total_hits += hits
        assert hits >= 3
        if i % 2 == 0:
            # every probe that reached the target is exactly one recorded (check, slot): no slot ran twice
            assert hits == per_check.get(f"chk-{i}", 0), f"chk-{i}: {hits} probes, {per_check.get(f'chk-{i}')} rows"
    runs = db.session.scalar(select(func.sum(WorkerHeartbeat.checks_run)))
    # A probe that got no HTTP answer (a loaded machine's target may not take the connection in time) is a
    # stored run the target never logged: every other run reached it exactly once.
    unanswered = db.session.scalar(select(func.count()).select_from(CheckResult)
                                   .where(CheckResult.status_code.is_(None)))
    assert runs - unanswered == total_hits, f"the workers ran {runs} probes ({unanswered} unanswered), the target saw {total_hits}"
    by_worker = db.session.execute(select(CheckResult.worker_id, func.count()).group_by(CheckResult.worker_id)).all()
    print(f"\n{db_backend}: {total_hits} runs of {n} checks; per worker: {sorted(c for _, c in by_worker)}")
    assert len(by_worker) == 2
    # Share of the work once both were running (one process may start seconds before the other).
    both_up = max(db.session.execute(select(func.min(CheckResult.started_at)).group_by(CheckResult.worker_id)).scalars())
    shared = dict(db.session.execute(select(CheckResult.worker_id, func.count())
                                     .where(CheckResult.started_at >= both_up).group_by(CheckResult.worker_id)).all())
    assert len(shared) == 2 and min(shared.values()) > 0, shared
    if db_backend == "postgresql":
        # The scale-out store: SKIP LOCKED lets both claim side by side. (On SQLite one writer lock
        # serialises claims, so whichever worker's tick comes first takes the next second's slots.)
        assert min(shared.values()) > sum(shared.values()) * 0.2, shared
    # nothing is left claimed after a graceful stop
    assert db.session.scalar(select(func.count()).select_from(Check).where(Check.claimed_by.is_not(None))) == 0
