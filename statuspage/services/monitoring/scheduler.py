"""The worker's check loop: claims due checks, hands them to the probe engine ahead of their slot, writes
results in batches.

Three threads share the work, and none waits for another:

* the scheduler thread claims what falls due in the next ``lookahead`` seconds (claims are committed
  before any probe runs) and submits each claimed check to the engine with its slot as start time and
  priority;
* the recorder thread drains finished runs once a second and writes them in batches (one transaction
  per batch, multi-row statements), so a slow write never delays a claim, nor a claim a write;
* the engine's event loop (``checks.runner.Runner``) holds every submitted probe until its slot, then
  runs it — thousands in flight at once, each under its own deadline. When more are due than
  ``max_in_flight`` allows, the most overdue start first.

A worker that cannot keep up says so instead of silently falling behind: while probes wait for a free
slot it stops claiming (the rows stay due in the database for another worker, most overdue first), logs
the start lag, and exports it (``stats()``, heartbeat, metrics). A slot that passes unrun is counted and
logged when the check's next slot is computed (``results.record_results``), never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from checks.result import ProbeResult
from checks.runner import ProbeJob, Runner

from ...db import utcnow
from ...extensions import db
from ...ops.metrics import (
    CHECK_ERRORS,
    CHECK_LATENCY,
    CHECK_RUNS,
    CHECK_SLOTS_SKIPPED,
    PROBES_IN_FLIGHT,
    PROBES_WAITING,
    SCHEDULER_LAG,
    START_LAG_QUANTILE,
)
from .claims import Claimed, claim_due_checks, release_claims
from .results import probe_claimed, record_results

log = logging.getLogger("statuspage.monitor")

LAG_WINDOW_S = 60.0  # start-lag percentiles are over the probes started in the last minute
SATURATION_LOG_EVERY_S = 10.0


@dataclass
class SchedulerStats:
    """What the worker's check loop reports about itself (heartbeat row, metrics, console)."""

    in_flight: int = 0  # submitted to the engine and not finished (incl. those held for their slot)
    running: int = 0  # probing right now
    waiting: int = 0  # due, but held back because max_in_flight probes are running
    max_in_flight: int = 0
    lag_p50: float = 0.0
    lag_p99: float = 0.0
    lag_max: float = 0.0
    saturated: bool = False
    runs: int = 0
    skipped_slots: int = 0
    errors: dict[str, dict[str, int]] = field(default_factory=dict)  # kind → error class → count since start

    def to_dict(self) -> dict:
        """JSON for the worker heartbeat row."""
        return {
            "in_flight": self.in_flight, "running": self.running, "waiting": self.waiting,
            "max_in_flight": self.max_in_flight, "lag_p50": round(self.lag_p50, 3),
            "lag_p99": round(self.lag_p99, 3), "lag_max": round(self.lag_max, 3), "saturated": self.saturated,
            "runs": self.runs, "skipped_slots": self.skipped_slots, "errors": self.errors,
        }


class CheckScheduler:
    """Claims checks, feeds them to an asyncio probe engine at their slot, records results in batches.

    Runs in its own thread inside the worker process. When ``stop_event`` is set it stops claiming,
    gives back claims whose slot has not come, lets running probes finish (each is deadline-bound),
    writes their results and releases whatever is left.
    """

    def __init__(self, app, worker_id: str, stop_event: threading.Event, *, max_in_flight: int = 2000,
                 batch: int = 500, flush_every: float = 1.0, claim_every: float = 0.5, lookahead: float = 2.0):
        self.app = app
        self.worker_id = worker_id
        self.stop_event = stop_event
        self.max_in_flight = max_in_flight
        self.batch = batch
        self.flush_every = flush_every
        self.claim_every = claim_every
        self.lookahead = lookahead
        # Finished runs, appended on the event loop's thread, drained here once per flush: no wake-up per probe.
        self.done: deque[tuple[Claimed, ProbeResult]] = deque()
        self.submitted = 0
        self.finished = 0
        self.running_ids: set[int] = set()  # checks submitted and not yet recorded (a set: GIL-atomic ops)
        self.heartbeats: list[tuple[float, int, Claimed]] = []  # judged here at their slot, no network
        self.seq = 0
        self.runs = 0
        self.skipped_slots = 0
        self.errors: dict[str, dict[str, int]] = {}
        self.lags: deque[tuple[float, float]] = deque()  # (monotonic time started, lag seconds)
        self._lock = threading.Lock()  # lags and errors: written by the recorder, read by the scheduler
        self.last_run_at: dt.datetime | None = None
        self._stats = SchedulerStats(max_in_flight=max_in_flight)
        self._stats_lock = threading.Lock()
        self._last_saturation_log = 0.0
        self.runner: Runner | None = None
        self.thread = threading.Thread(target=self._main, name="check-scheduler", daemon=True)
        self.recorder = threading.Thread(target=self._record_main, name="check-recorder", daemon=True)
        self._recorder_stop = threading.Event()

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def alive(self) -> bool:
        """Whether the scheduler (and, once started, the recorder) thread still runs."""
        return self.thread.is_alive() and (self.recorder.is_alive() or self.recorder.ident is None)

    def stats(self) -> SchedulerStats:
        """The latest snapshot (refreshed about once a second by the loop); safe from any thread."""
        with self._stats_lock:
            return self._stats

    def _main(self) -> None:
        with self.app.app_context():
            try:
                self.runner = Runner(max_in_flight=self.max_in_flight)
                self.recorder.start()
                self._loop(self.runner)
            except Exception:  # pragma: no cover - logged; the worker's heartbeat sees the thread gone
                log.exception("check scheduler crashed")
            finally:
                db.session.remove()

    def _record_main(self) -> None:
        with self.app.app_context():
            try:
                while not self._recorder_stop.wait(self.flush_every):
                    try:
                        self._flush(self._drain())
                    except Exception:  # never let the recorder die: the runs come back when leases end
                        log.exception("recording check results failed; going on")
                        db.session.rollback()
                self._flush(self._drain())
            finally:
                db.session.remove()

    # --- the loop ----------------------------------------------------------------------------------

    def _loop(self, runner: Runner) -> None:
        next_claim = 0.0
        next_stats = 0.0
        while not self.stop_event.is_set():
            try:
                next_claim, next_stats = self._step(runner, next_claim, next_stats)
            except Exception:  # a loop that dies stops every check: log, pause, go on
                log.exception("check loop step failed; going on")
                db.session.rollback()
                self.stop_event.wait(1.0)
        self._shutdown(runner)

    def _step(self, runner: Runner, next_claim: float, next_stats: float) -> tuple[float, float]:
        """One turn of the loop: stats, claims, due heartbeats; then sleep until the next event."""
        mono = time.monotonic()
        if mono >= next_stats:
            next_stats = mono + 1.0
            self._refresh_stats(runner)
        if mono >= next_claim:
            # Jittered: with a fixed cadence, of two workers the one whose tick falls just before
            # the other's would claim nearly every slot forever (each claim looks ahead).
            # A random cadence lets the phases drift, so replicas share the work evenly over time.
            next_claim = mono + self.claim_every * random.uniform(0.5, 1.5)
            if not self.stats().saturated:
                self._claim(runner)
        self._judge_due_heartbeats()
        wake = min(next_claim, next_stats)
        if self.heartbeats:
            wake = min(wake, mono + max(0.0, self.heartbeats[0][0] - time.time()))
        self.stop_event.wait(max(0.0, wake - time.monotonic()))
        return next_claim, next_stats

    def _drain(self) -> list[tuple[Claimed, ProbeResult]]:
        out = []
        while True:
            try:
                out.append(self.done.popleft())
            except IndexError:
                return out

    def _claim(self, runner: Runner) -> None:
        # Claim in batches until nothing more is due within the lookahead (or the engine holds enough).
        for _ in range(20):
            try:
                claimed = claim_due_checks(self.worker_id, limit=self.batch, lookahead=self.lookahead)
            except Exception:
                log.exception("claiming checks failed; retrying")
                db.session.rollback()
                return
            jobs = []
            for item in claimed:
                slot = item.slot.timestamp()
                self.seq += 1
                if item.kind == "heartbeat":
                    heapq.heappush(self.heartbeats, (slot, self.seq, item))
                else:
                    if item.id in self.running_ids:
                        # Its lease ran out while its earlier slot still waits in this worker (overload):
                        # the earlier run records and moves the slot on; never run a check twice at once.
                        continue
                    self.running_ids.add(item.id)
                    jobs.append(ProbeJob(item.spec, _outcome_of(item.status), start_at=slot, priority=slot, ref=item))
            if jobs:
                self.submitted += len(jobs)
                runner.submit_many(jobs, self._probe_done)
            # Hold no more than the engine can start soon: what it cannot run stays claimable in the database.
            if len(claimed) < self.batch or self.submitted - self.finished >= 2 * self.max_in_flight:
                return

    def _probe_done(self, job: ProbeJob, result: ProbeResult) -> None:
        # Runs on the event loop's thread: hand over, nothing more.
        self.done.append((job.ref, result))

    def _judge_due_heartbeats(self) -> None:
        now_ts = time.time()
        while self.heartbeats and self.heartbeats[0][0] <= now_ts:
            _, _, item = heapq.heappop(self.heartbeats)
            item.started_at = utcnow()
            self.done.append((item, probe_claimed(item, item.started_at)))

    def _flush(self, finished: list[tuple[Claimed, ProbeResult]]) -> None:
        if not finished:
            return
        mono = time.monotonic()
        lags = []
        for item, result in finished:
            if item.started_at is None:
                item.started_at = result.checked_at or utcnow()
            lag = max(0.0, (item.started_at - item.slot).total_seconds())
            lags.append((mono, lag))
            SCHEDULER_LAG.observe(lag)
            CHECK_RUNS.labels(item.kind, result.outcome).inc()
            CHECK_LATENCY.labels(item.kind).observe((result.latency_ms or 0.0) / 1000)
            if result.error_class:
                CHECK_ERRORS.labels(item.kind, result.error_class).inc()
        with self._lock:
            self.lags.extend(lags)
            for item, result in finished:
                if result.error_class:
                    per_kind = self.errors.setdefault(item.kind, {})
                    per_kind[result.error_class] = per_kind.get(result.error_class, 0) + 1
        self.finished += sum(1 for item, _ in finished if item.kind != "heartbeat")
        self.running_ids.difference_update(item.id for item, _ in finished)
        try:
            summary = record_results(self.worker_id, finished)
        except Exception:
            log.exception("writing %d check results failed; their claims expire and they run again", len(finished))
            db.session.rollback()
            return
        self.runs += len(finished)
        self.last_run_at = utcnow()
        if summary.skipped_slots:
            self.skipped_slots += summary.skipped_slots
            CHECK_SLOTS_SKIPPED.inc(summary.skipped_slots)
            log.warning("%d slot(s) of %d check(s) passed unrun (worker behind by up to %.1f s); "
                        "the checks run at their next slot", summary.skipped_slots, summary.checks_behind,
                        summary.max_behind_s)
        for slug, old, new in summary.status_changes:
            log.info("check %s: %s → %s", slug, old, new)

    def _refresh_stats(self, runner: Runner) -> None:
        mono = time.monotonic()
        with self._lock:
            while self.lags and self.lags[0][0] < mono - LAG_WINDOW_S:
                self.lags.popleft()
            lags = sorted(lag for _, lag in self.lags)
            errors = {k: dict(v) for k, v in self.errors.items()}
        engine = runner.stats()
        waiting = engine.waiting
        # Saturated: probes wait for a free slot in the engine.
        stats = SchedulerStats(
            in_flight=self.submitted - self.finished + len(self.heartbeats), running=engine.in_flight, waiting=waiting,
            max_in_flight=self.max_in_flight, lag_p50=_pct(lags, 50), lag_p99=_pct(lags, 99),
            lag_max=lags[-1] if lags else 0.0, saturated=waiting > 0, runs=self.runs,
            skipped_slots=self.skipped_slots, errors=errors)
        with self._stats_lock:
            self._stats = stats
        PROBES_IN_FLIGHT.set(engine.in_flight)
        PROBES_WAITING.set(waiting)
        START_LAG_QUANTILE.labels("0.5").set(stats.lag_p50)
        START_LAG_QUANTILE.labels("0.99").set(stats.lag_p99)
        if stats.saturated and mono - self._last_saturation_log >= SATURATION_LOG_EVERY_S:
            self._last_saturation_log = mono
            log.warning("check engine saturated: %d probes running (max %d), %d due and waiting for a slot "
                        "(longest %.1f s); start lag p50 %.2f s, p99 %.2f s — not claiming more until it "
                        "catches up; raise STATUSPAGE_MAX_PROBES_IN_FLIGHT or add a worker",
                        engine.in_flight, self.max_in_flight, waiting, engine.oldest_wait_s,
                        stats.lag_p50, stats.lag_p99)

    def _shutdown(self, runner: Runner) -> None:
        # Give back what has not started; let what runs finish (bounded), record it, release the rest.
        unstarted = [item for _, _, item in self.heartbeats]
        self.heartbeats = []
        try:
            unstarted += [job.ref for job in runner.take_back_held(timeout=30)]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and runner.running_jobs(timeout=30):
                time.sleep(0.1)
            unstarted += [job.ref for job in runner.running_jobs(timeout=30)]  # still running: cancelled below
        except Exception:  # the loop did not answer: what it held comes back when the leases end
            log.exception("stopping the probe engine cleanly failed")
        self._recorder_stop.set()  # the recorder writes what finished, then ends
        self.recorder.join(timeout=60)
        try:
            release_claims(self.worker_id, unstarted)
        except Exception:
            log.exception("releasing %d claims failed; their leases expire", len(unstarted))
            db.session.rollback()
        runner.close(wait=False)


def _pct(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(pct / 100 * len(sorted_values)))]


def _outcome_of(status: str) -> str | None:
    return {"up": "up", "degraded": "degraded", "down": "down"}.get(status)
