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

from .db import utcnow
from .extensions import db
from .services.recovery import reap_dead_local_workers, record_heartbeat, record_stopped

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
        settings = app.extensions["statuspage.settings"]
        self.settings = settings
        from .services.monitoring.scheduler import CheckScheduler

        self.checks = CheckScheduler(app, self.id, self.stop_event, max_in_flight=settings.max_probes_in_flight,
                                     batch=settings.worker_batch_size)
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
        if not self.checks.alive() and not self.stop_event.is_set():
            # The check loop died: exit so the supervisor (systemd, `statuspage run`) restarts us, rather
            # than heartbeating while no checks run.
            log.critical("check scheduler thread is gone; exiting for a restart")
            os._exit(70)
        now = utcnow()
        record_heartbeat(self.id, checks_run=self.checks.runs, last_checks_at=self.checks.last_run_at, now=now,
                         stats=self.checks.stats().to_dict())
        # A sibling on this host that crashed: take its claims now rather than when its leases end.
        reap_dead_local_workers(self.id, now)

    def start(self) -> None:
        for name, seconds, func in self.jobs:
            self.scheduler.add_job(self._wrap(name, func), "interval", seconds=seconds, id=name,
                                   next_run_time=utcnow())
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        if self.settings.worker_metrics_port:
            from prometheus_client import start_http_server

            start_http_server(self.settings.worker_metrics_port, addr="127.0.0.1")
        if "STATUSPAGE_WORKER_THREADS" in self.settings.deprecated:
            log.warning("STATUSPAGE_WORKER_THREADS is deprecated (probes no longer run in threads): it is read "
                        "as STATUSPAGE_MAX_PROBES_IN_FLIGHT=%d; rename it", self.settings.max_probes_in_flight)
        self.checks.start()
        log.info("worker %s starting with jobs: %s; up to %d probes in flight", self.id,
                 ", ".join(j[0] for j in self.jobs), self.settings.max_probes_in_flight)
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
        self.checks.join(timeout=40)
        with self.app.app_context():
            record_stopped(self.id, checks_run=self.checks.runs, last_checks_at=self.checks.last_run_at,
                           stats=self.checks.stats().to_dict())
        log.info("worker %s stopped", self.id)


def jobs_for(worker: Worker) -> list[tuple[str, float, object]]:
    """(name, interval seconds, function) of every periodic job."""
    from .ratelimit import prune_rate_limits
    from .services.idempotency import prune_idempotency_keys
    from .services.incidents.auto import resolve_quiet_auto_incidents
    from .services.incidents.maintenance import advance_maintenance
    from .services.monitoring import locations, rollups, selfcheck
    from .services.notifications.outbox.deliver import deliver_outbox

    settings = worker.settings
    jobs: list[tuple[str, float, object]] = [
        ("heartbeat", 5.0, worker.heartbeat),
        ("deliver_outbox", 1.0, lambda: deliver_outbox(worker.id, worker.stop_event)),
        ("rollup_and_prune_results", 3600.0,
         lambda: rollups.rollup_and_prune(retention_days=settings.result_retention_days)),
        ("prune_idempotency_keys", 3600.0, prune_idempotency_keys),
        ("prune_rate_limits", 3600.0, prune_rate_limits),
        ("monitoring_watchdog", 30.0, lambda: selfcheck.alert_if_monitoring_delayed(settings.monitoring_stale_after)),
        ("maintenance", 30.0, advance_maintenance),
        # Probe locations: a silent agent's location becomes unknown (never down) and on-call hears of it.
        ("probe_locations", 10.0, locations.sweep_locations),
        ("auto_resolve_incidents", 30.0, resolve_quiet_auto_incidents),
    ]
    jobs += public_site_jobs(worker)
    return jobs


def public_site_jobs(worker: Worker) -> list[tuple[str, float, object]]:
    """Uptime rollups every minute; the static export when STATUSPAGE_EXPORT_DIR is set."""
    from .services.site.export import export_if_changed
    from .services.uptime import rollup_uptime

    jobs: list[tuple[str, float, object]] = [("uptime_rollup", 60.0, lambda: rollup_uptime(utcnow()))]
    if worker.app.extensions["statuspage.settings"].export_dir is not None:
        jobs.append(("static_export", 5.0, lambda: export_if_changed(worker.app)))
    return jobs


def run_worker(app: Flask) -> None:
    from .ops.logs import configure_logging

    configure_logging(app.extensions["statuspage.settings"].log_json)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    Worker(app).start()
