"""A worker takes over a crashed sibling's claims on the same host at once — and never those of a
worker it cannot be sure is dead (alive, another host, another PID namespace)."""

import datetime as dt
import os
import socket
import subprocess
import sys
import time

from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check, OutboxMessage, WorkerHeartbeat
from statuspage.services.notifications.outbox.claim import claim_batch
from statuspage.services.recovery import pid_namespace, reap_dead_local_workers
from tests.support import factories as f
from tests.support.factories import make_check, make_components


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _heartbeat(worker_id: str, pid: int, *, hostname: str | None = None, namespace: str | None = "same"):
    now = utcnow()
    db.session.add(WorkerHeartbeat(id=worker_id, hostname=hostname or socket.gethostname(), pid=pid,
                                   pid_namespace=pid_namespace() if namespace == "same" else namespace,
                                   started_at=now, last_seen_at=now))


def test_only_the_claims_of_a_certainly_dead_local_worker_are_released(app):
    f.page(name="Acme Cloud", public_id="acmepage")
    (api,) = make_components("api")
    f.many_subscribers(40)
    f.announced_incident("Outage", [api])
    checks = {name: make_check(api, slug=name) for name in ("c-dead", "c-alive", "c-other-host", "c-other-ns")}
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        workers = {"dead": _dead_pid(), "alive": sleeper.pid, "other-host": _dead_pid(), "other-ns": _dead_pid()}
        _heartbeat("dead", workers["dead"])
        _heartbeat("alive", workers["alive"])
        _heartbeat("other-host", workers["other-host"], hostname="elsewhere.example")
        _heartbeat("other-ns", workers["other-ns"], namespace="pid:[1]")
        lease_end = utcnow() + dt.timedelta(minutes=10)
        for name, check in checks.items():
            check.claimed_by, check.claimed_until, check.next_run_at = name[2:], lease_end, lease_end
        db.session.commit()
        claimed = {name: claim_batch(name, 10, lease_seconds=600) for name in workers}

        assert reap_dead_local_workers("me") == ["dead"]
        db.session.expire_all()
        rows = {r.id: r for r in db.session.scalars(select(OutboxMessage))}
        assert all(rows[i].status == "pending" and rows[i].claimed_by is None for i in claimed["dead"])
        for name in ("alive", "other-host", "other-ns"):
            assert all(rows[i].status == "sending" and rows[i].claimed_by == name for i in claimed[name])
        c = {name: db.session.get(Check, check.id) for name, check in checks.items()}
        assert c["c-dead"].claimed_by is None and c["c-dead"].next_run_at <= utcnow()
        assert {c[n].claimed_by for n in ("c-alive", "c-other-host", "c-other-ns")} == {
            "alive", "other-host", "other-ns"}
        assert db.session.get(WorkerHeartbeat, "dead").stopped_at is not None
        assert db.session.get(WorkerHeartbeat, "alive").stopped_at is None
        # Once reaped, a worker is not reaped again; the released rows go to whoever claims next.
        assert reap_dead_local_workers("me") == []
        assert sorted(claim_batch("me", 100)) == sorted(claimed["dead"])
    finally:
        sleeper.kill()
        sleeper.wait()


def _state(pid: int) -> bytes:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        return stat.read().rsplit(b")", 1)[1].split()[0]


def test_an_exited_but_unreaped_process_counts_as_gone():
    from statuspage.services.recovery import pid_alive

    assert pid_alive(os.getpid()) is True
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # Not waited for yet: it has exited, but stays a zombie until its parent reaps it.
        deadline = time.monotonic() + 10
        while _state(child.pid) != b"Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _state(child.pid) == b"Z"
        assert pid_alive(child.pid) is False
    finally:
        child.wait()
    assert pid_alive(child.pid) is False
