"""The scheduler process: APScheduler BlockingScheduler with an in-memory job store.

The schedule of checks lives in the database; this process claims due work from it, so any number of
workers can run side by side on PostgreSQL. Never started in web processes.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import update

from .db import utcnow
from .extensions import db
from .models import WorkerHeartbeat

log = logging.getLogger("statuspage.worker")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Owns the scheduler and the periodic jobs; each job runs inside an app context."""

    def __init__(self, app: Flask, worker_id: str | None = None):
        self.app = app
        self.id = worker_id or new_worker_id()
        self.stop_event = threading.Event()
        self.scheduler = BlockingScheduler(
            executors={"default": ThreadPoolExecutor(8)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
            timezone="UTC",
        )
        self.jobs = jobs_for(self)

    def _wrap(self, name, func):
        def run():
            if self.stop_event.is_set():
                return
            with self.app.app_context():
                try:
                    func()
                except Exception:  # a job never takes the worker down; it runs again next tick
                    log.exception("job %s failed", name)
                    db.session.rollback()
                finally:
                    db.session.remove()
        return run

    def heartbeat(self) -> None:
        now = utcnow()
        result = db.session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.id == self.id)
                                    .values(last_seen_at=now, stopped_at=None))
        if result.rowcount == 0:
            db.session.add(WorkerHeartbeat(id=self.id, hostname=socket.gethostname(), pid=os.getpid(),
                                           started_at=now, last_seen_at=now))
        db.session.commit()

    def start(self) -> None:
        for name, seconds, func in self.jobs:
            self.scheduler.add_job(self._wrap(name, func), "interval", seconds=seconds, id=name,
                                   next_run_time=utcnow())
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        log.info("worker %s starting with jobs: %s", self.id, ", ".join(j[0] for j in self.jobs))
        self.scheduler.start()  # blocks until shutdown
        self._finish()

    def _on_signal(self, signum, _frame) -> None:
        if self.stop_event.is_set():
            return
        log.info("worker %s received signal %s; finishing in-flight work", self.id, signum)
        self.stop_event.set()
        # wait=True lets running jobs finish; their own loops watch stop_event and stop early.
        threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    def _finish(self) -> None:
        with self.app.app_context():
            db.session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.id == self.id)
                               .values(stopped_at=utcnow()))
            db.session.commit()
        log.info("worker %s stopped", self.id)


def jobs_for(worker: Worker) -> list[tuple[str, float, object]]:
    """(name, interval seconds, function) of every periodic job."""
    from .services.outbox import deliver_outbox

    return [
        ("heartbeat", 5.0, worker.heartbeat),
        ("deliver_outbox", 1.0, lambda: deliver_outbox(worker.id, worker.stop_event)),
    ]


def run_worker(app: Flask) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Worker(app).start()
