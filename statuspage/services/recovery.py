"""Worker processes: their heartbeats, and taking over the work of one that died on this host.

Claims (checks, outbox rows) are leases, so a dead worker's work always comes back — but only when the
lease runs out (the outbox's is two minutes by default). A worker on the same host can do better: its
sibling's heartbeat names a pid, and if that pid no longer exists in the same PID namespace, the
process is gone for certain and its claims can be released at once. Anything less certain (another
host, another namespace, a pid that exists again) is left to the lease: releasing the claims of a live
worker would make it send mail twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket

from flask import current_app
from sqlalchemy import select, update

from ..db import utcnow
from ..extensions import db
from ..models import Check, OutboxMessage, WorkerHeartbeat
from .monitoring_gaps import record_checks_ran

log = logging.getLogger("statuspage.recovery")


def pid_namespace() -> str | None:
    """This process's PID namespace (Linux), or None where it cannot be known (then nothing is reaped)."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    """Whether `pid` is a running process here (a zombie — exited, not yet reaped by its parent — is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, belongs to someone else
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # cannot tell: assume alive, the lease still applies


def reap_dead_local_workers(my_id: str, now: dt.datetime | None = None) -> list[str]:
    """Release the claims of workers on this host whose process is gone; returns their ids. Commits."""
    namespace = pid_namespace()
    if namespace is None:
        return []
    now = now or utcnow()
    siblings = db.session.execute(select(WorkerHeartbeat.id, WorkerHeartbeat.pid).where(
        WorkerHeartbeat.hostname == socket.gethostname(), WorkerHeartbeat.pid_namespace == namespace,
        WorkerHeartbeat.stopped_at.is_(None), WorkerHeartbeat.id != my_id)).all()
    reaped = []
    for worker_id, pid in siblings:
        if pid == os.getpid() or pid_alive(pid):
            continue
        mail = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.claimed_by == worker_id, OutboxMessage.status == "sending")
            .values(status="pending", claimed_by=None, claimed_until=None)).rowcount
        # A claimed check's next_run_at is its lease end; due now, the slot it missed runs at once.
        checks = db.session.execute(
            update(Check).where(Check.claimed_by == worker_id)
            .values(claimed_by=None, claimed_until=None, next_run_at=now)).rowcount
        db.session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.id == worker_id)
                           .values(stopped_at=now))
        db.session.commit()
        log.warning("worker %s (pid %s) is gone: released %s outbox rows and %s checks it held",
                    worker_id, pid, mail, checks)
        reaped.append(worker_id)
    db.session.commit()
    return reaped


def record_heartbeat(worker_id: str, *, checks_run: int, last_checks_at: dt.datetime | None,
                     now: dt.datetime | None = None, stats: dict | None = None) -> None:
    """A worker is alive (and how far its checks got, with its check loop's figures ``stats``); the first
    beat registers it, and a beat after a stretch without checks records that monitoring gap
    (services.monitoring_gaps). Commits."""
    now = now or utcnow()
    # Before storing its time: if nobody ran checks for a while, that stretch was not monitored.
    record_checks_ran(last_checks_at, current_app.extensions["statuspage.settings"].monitoring_stale_after)
    result = db.session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.id == worker_id)
                                .values(last_seen_at=now, stopped_at=None, checks_run=checks_run,
                                        last_checks_at=last_checks_at, stats=stats))
    if result.rowcount == 0:
        db.session.add(WorkerHeartbeat(id=worker_id, hostname=socket.gethostname(), pid=os.getpid(),
                                       pid_namespace=pid_namespace(), started_at=now, last_seen_at=now))
    db.session.commit()


def record_stopped(worker_id: str, *, checks_run: int | None = None, last_checks_at: dt.datetime | None = None,
                   stats: dict | None = None) -> None:
    """A worker stopped cleanly: its heartbeat says so at once (no waiting for it to go stale), with its
    final count of runs when given. Commits."""
    final = {} if checks_run is None else {"checks_run": checks_run, "last_checks_at": last_checks_at, "stats": stats}
    db.session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.id == worker_id)
                       .values(stopped_at=utcnow(), **final))
    db.session.commit()
