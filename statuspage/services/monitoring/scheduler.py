"""The worker's check loop: feeds claimed checks to the probe engine at their slot, writes results in batches.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import queue
import random
import threading
import time

from checks.result import ProbeResult
from checks.runner import Runner

from ...db import utcnow
from ...extensions import db
from ...ops.metrics import CHECK_LATENCY, CHECK_RUNS, SCHEDULER_LAG
from .claims import Claimed, claim_due_checks, release_claims
from .results import probe_claimed, record_results

log = logging.getLogger("statuspage.monitor")


class CheckScheduler:
    """Feeds claimed checks to a Runner at their slot and writes results in batches.

    Runs in its own thread inside the worker process. ``stop()`` stops claiming, lets in-flight probes
    finish (each is deadline-bound), writes their results and releases claims that never started.
    """

    def __init__(self, app, worker_id: str, stop_event: threading.Event, *, threads: int = 32,
                 batch: int = 500, flush_every: float = 1.0, claim_every: float = 0.5, tick: float = 0.1):
        self.app = app
        self.worker_id = worker_id
        self.stop_event = stop_event
        self.threads = threads
        self.batch = batch
        self.flush_every = flush_every
        self.claim_every = claim_every
        self.tick = tick
        self.results: queue.SimpleQueue[tuple[Claimed, ProbeResult]] = queue.SimpleQueue()
        self.heap: list[tuple[float, int, Claimed]] = []
        self.seq = 0
        self.runs = 0
        self.lag_samples: list[float] = []
        self.last_run_at: dt.datetime | None = None
        self.thread = threading.Thread(target=self._main, name="check-scheduler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def _main(self) -> None:
        with self.app.app_context():
            try:
                self._loop()
            except Exception:  # pragma: no cover - logged; the worker's supervisor restarts the process
                log.exception("check scheduler crashed")
            finally:
                db.session.remove()

    def _loop(self) -> None:
        runner = Runner(max_in_flight=self.threads)
        next_claim = 0.0
        next_flush = time.monotonic() + self.flush_every
        pending: list[tuple[Claimed, ProbeResult]] = []
        in_flight = 0
        while not self.stop_event.is_set():
            mono = time.monotonic()
            if mono >= next_claim:
                # Jittered: with a fixed cadence, of two workers the one whose tick falls just before
                # the other's would claim nearly every slot forever (each claim looks a second ahead).
                # A random cadence lets the phases drift, so replicas share the work evenly over time.
                next_claim = mono + self.claim_every * random.uniform(0.5, 1.5)
                try:
                    for item in claim_due_checks(self.worker_id, limit=self.batch):
                        self.seq += 1
                        heapq.heappush(self.heap, (item.slot.timestamp(), self.seq, item))
                except Exception:
                    log.exception("claiming checks failed; retrying")
                    db.session.rollback()
            now_ts = time.time()
            while self.heap and self.heap[0][0] <= now_ts:
                _, _, item = heapq.heappop(self.heap)
                item.started_at = utcnow()
                self.lag_samples.append(max(0.0, item.started_at.timestamp() - item.slot.timestamp()))
                if len(self.lag_samples) > 100_000:
                    del self.lag_samples[:50_000]
                in_flight += 1
                if item.kind == "heartbeat":
                    self.results.put((item, probe_claimed(item, item.started_at)))
                else:
                    future = runner.submit(item.spec, previous_outcome=_outcome_of(item.status))
                    future.add_done_callback(lambda f, it=item: self.results.put((it, f.result())))
            while True:
                try:
                    pending.append(self.results.get_nowait())
                    in_flight -= 1
                except queue.Empty:
                    break
            if pending and (time.monotonic() >= next_flush or len(pending) >= self.batch):
                self._flush(pending)
                pending = []
                next_flush = time.monotonic() + self.flush_every
            # Ten wake-ups a second at most: each submits every slot that came due (start lag ≤ 0.1 s)
            # instead of waking once per check.
            time.sleep(self.tick)
        # Stopping: no new claims; finish what runs, release what never started.
        deadline = time.monotonic() + 30
        while in_flight > 0 and time.monotonic() < deadline:
            try:
                pending.append(self.results.get(timeout=0.1))
                in_flight -= 1
            except queue.Empty:
                pass
        self._flush(pending)
        release_claims(self.worker_id, [item for _, _, item in self.heap])
        self.heap = []
        runner.close(wait=False)

    def _flush(self, pending: list[tuple[Claimed, ProbeResult]]) -> None:
        if not pending:
            return
        try:
            summary = record_results(self.worker_id, pending)
            self.runs += summary.results
            for item, result in pending:
                CHECK_RUNS.labels(item.kind, result.outcome).inc()
                CHECK_LATENCY.labels(item.kind).observe((result.latency_ms or 0.0) / 1000)
                if item.started_at is not None:
                    SCHEDULER_LAG.observe(max(0.0, (item.started_at - item.slot).total_seconds()))
            self.last_run_at = utcnow()
            for slug, old, new in summary.status_changes:
                log.info("check %s: %s → %s", slug, old, new)
        except Exception:
            log.exception("writing %d check results failed; their claims expire and they run again", len(pending))
            db.session.rollback()


def _outcome_of(status: str) -> str | None:
    return {"up": "up", "degraded": "degraded", "down": "down"}.get(status)
