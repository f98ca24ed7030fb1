"""Glue between the database and the checks engine: claim due checks, run them, record results.

Claiming is exactly-once across worker processes: on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` in a
short transaction, on SQLite with a compare-and-set on ``next_run_at``; both commit before any network
I/O. A claim moves ``next_run_at`` to the end of a lease, so if the worker dies the check becomes due
again when the lease passes and another worker takes it over. Finishing a run writes its result (a
unique key on (check, slot) is the backstop), folds it into the flap-proof state machine, and moves
``next_run_at`` to the next slot — skipping, never piling up, slots missed while nothing ran.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import queue
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from checks.probes import evaluate_heartbeat, run_probe
from checks.result import ProbeResult
from checks.runner import Runner
from checks.spec import CheckSpec
from checks.state import CheckState, apply

from ..db import utcnow
from ..extensions import db
from ..models import Check, CheckResult, CheckRollup, Component
from .schedule import next_slot_after, run_interval

log = logging.getLogger("statuspage.monitor")

CHECK_TABLE = Check.__table__
RESULT_TABLE = CheckResult.__table__
LEASE_MARGIN = dt.timedelta(seconds=30)

# What a check's state means for its component.
DEGRADED = "degraded_performance"


@dataclass(order=False)
class Claimed:
    """A check claimed for one slot, with what is needed to run it and fold in its result."""

    id: int
    slug: str
    component_id: int
    kind: str
    spec: CheckSpec
    slot: dt.datetime
    state: dict
    status: str
    on_down: str
    failure_threshold: int
    success_threshold: int
    last_ping_at: dt.datetime | None
    created_at: dt.datetime
    interval: float
    lease_until: dt.datetime
    started_at: dt.datetime | None = None
    extra: dict = field(default_factory=dict)


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _insert_ignore(table):
    """INSERT … ON CONFLICT DO NOTHING for the current dialect."""
    dialect = postgresql if _is_postgres() else sqlite
    return dialect.insert(table).on_conflict_do_nothing()


_CLAIM_COLUMNS = (
    CHECK_TABLE.c.id, CHECK_TABLE.c.slug, CHECK_TABLE.c.component_id, CHECK_TABLE.c.kind, CHECK_TABLE.c.spec,
    CHECK_TABLE.c.next_run_at, CHECK_TABLE.c.state, CHECK_TABLE.c.status, CHECK_TABLE.c.on_down,
    CHECK_TABLE.c.failure_threshold, CHECK_TABLE.c.success_threshold, CHECK_TABLE.c.last_ping_at,
    CHECK_TABLE.c.created_at, CHECK_TABLE.c.interval_seconds, CHECK_TABLE.c.timeout_seconds,
)


def claim_due_checks(worker_id: str, now: dt.datetime | None = None, *, limit: int = 500,
                     lookahead: float = 1.0) -> list[Claimed]:
    """Claim up to `limit` checks whose slot is due within `lookahead` seconds; commit before returning.

    Each claimed check's ``next_run_at`` moves to the end of its lease (slot + 2 × timeout + 30 s) and
    ``claimed_by`` names this worker. No other worker can claim the same slot.
    """
    now = now or utcnow()
    horizon = now + dt.timedelta(seconds=lookahead)
    query = (select(*_CLAIM_COLUMNS)
             .where(CHECK_TABLE.c.archived_at.is_(None), CHECK_TABLE.c.next_run_at <= horizon)
             .order_by(CHECK_TABLE.c.next_run_at).limit(limit))
    postgres = _is_postgres()
    if postgres:
        query = query.with_for_update(skip_locked=True, of=CHECK_TABLE)
    rows = db.session.execute(query).all()
    claimed: list[Claimed] = []
    params = []
    for row in rows:
        lease_until = max(row.next_run_at, now) + dt.timedelta(seconds=2 * row.timeout_seconds) + LEASE_MARGIN
        lease_until = lease_until.replace(microsecond=(lease_until.microsecond // 1000) * 1000)
        params.append({"b_id": row.id, "b_old": row.next_run_at, "b_next": lease_until, "b_by": worker_id})
        claimed.append(Claimed(
            id=row.id, slug=row.slug, component_id=row.component_id, kind=row.kind,
            spec=CheckSpec.from_dict(row.spec), slot=row.next_run_at, state=row.state or {}, status=row.status,
            on_down=row.on_down, failure_threshold=row.failure_threshold,
            success_threshold=row.success_threshold, last_ping_at=row.last_ping_at, created_at=row.created_at,
            interval=row.interval_seconds, lease_until=lease_until))
    if params:
        if postgres:
            # The rows are locked by FOR UPDATE SKIP LOCKED: no other worker can see them until commit.
            db.session.execute(_CLAIM_UPDATE, params, execution_options={"synchronize_session": False})
        else:
            # Compare-and-set: only the worker that read next_run_at moves it. Inside SQLite's
            # BEGIN IMMEDIATE no one else writes, so all succeed; if not, keep only those that did.
            result = db.session.execute(_CLAIM_CAS, params, execution_options={"synchronize_session": False})
            if result.rowcount != len(params):
                db.session.rollback()
                return _claim_one_by_one(worker_id, claimed, params)
    db.session.commit()
    return claimed


_CLAIM_UPDATE = (update(CHECK_TABLE).where(CHECK_TABLE.c.id == bindparam("b_id"))
                 .values(next_run_at=bindparam("b_next"), claimed_by=bindparam("b_by"),
                         claimed_until=bindparam("b_next")))
_CLAIM_CAS = (update(CHECK_TABLE)
              .where(CHECK_TABLE.c.id == bindparam("b_id"), CHECK_TABLE.c.next_run_at == bindparam("b_old"))
              .values(next_run_at=bindparam("b_next"), claimed_by=bindparam("b_by"),
                      claimed_until=bindparam("b_next")))


def _claim_one_by_one(worker_id: str, claimed: list[Claimed], params: list[dict]) -> list[Claimed]:
    kept = []
    for item, p in zip(claimed, params, strict=True):
        if db.session.execute(_CLAIM_CAS, p, execution_options={"synchronize_session": False}).rowcount == 1:
            kept.append(item)
    db.session.commit()
    return kept


def release_claims(worker_id: str, items: Iterable[Claimed]) -> int:
    """Give back claims that never started (shutdown): their slot becomes due again at once."""
    params = [{"b_id": c.id, "b_slot": c.slot, "b_by": worker_id} for c in items]
    if not params:
        return 0
    db.session.execute(
        update(CHECK_TABLE).where(CHECK_TABLE.c.id == bindparam("b_id"), CHECK_TABLE.c.claimed_by == bindparam("b_by"))
        .values(next_run_at=bindparam("b_slot"), claimed_by=None, claimed_until=None),
        params, execution_options={"synchronize_session": False})
    db.session.commit()
    return len(params)


def probe_claimed(item: Claimed, now: dt.datetime | None = None) -> ProbeResult:
    """Run one claimed check (heartbeats are judged without network). Never raises."""
    if item.kind == "heartbeat":
        return evaluate_heartbeat(item.spec, item.last_ping_at, now or utcnow(), item.created_at)
    return run_probe(item.spec, now=now)


def component_status_for(check_status: str, on_down: str) -> str:
    """What a check's state means for its component."""
    if check_status == "down":
        return on_down
    if check_status == "degraded":
        return DEGRADED
    return "operational"


@dataclass
class RecordSummary:
    results: int = 0
    status_changes: list[tuple[str, str, str]] = field(default_factory=list)  # (slug, old, new)
    component_changes: list[tuple[str, str]] = field(default_factory=list)  # (component slug, new status)


def record_results(worker_id: str, items: list[tuple[Claimed, ProbeResult]],
                   now: dt.datetime | None = None) -> RecordSummary:
    """Write a batch of finished runs: results, check states, next slots; then component statuses.

    One transaction for the batch; only components whose checks changed status are touched.
    """
    now = now or utcnow()
    summary = RecordSummary()
    if not items:
        return summary
    result_rows = []
    check_params = []
    changed: list[tuple[Claimed, ProbeResult, Any]] = []
    for item, result in items:
        started = item.started_at or result.checked_at or now
        result_dict = result.to_dict()
        result_rows.append({
            "check_id": item.id, "scheduled_for": item.slot, "started_at": started, "worker_id": worker_id,
            "outcome": result.outcome, "latency_ms": result.latency_ms, "status_code": result.status_code,
            "error_class": result.error_class, "message": (result.message or "")[:2000],
            "conditions": result.conditions,
        })
        heartbeat = item.kind == "heartbeat"
        transition = apply(
            CheckState.from_dict(item.state), result.outcome, started,
            failure_threshold=1 if heartbeat else item.failure_threshold,
            success_threshold=1 if heartbeat else item.success_threshold)
        next_run = next_slot_after(item.slug, run_interval(item.kind, item.interval), max(now, item.slot))
        check_params.append({
            "b_id": item.id, "b_by": worker_id, "b_next": next_run, "b_status": transition.state.status,
            "b_state": transition.state.to_dict(), "b_flapping": transition.state.flapping,
            "b_last": result_dict, "b_run": started,
        })
        if transition.changed or transition.flapping_changed:
            changed.append((item, result, transition))
    db.session.execute(_insert_ignore(RESULT_TABLE), result_rows)
    db.session.execute(_RECORD_UPDATE, check_params, execution_options={"synchronize_session": False})
    summary.results = len(result_rows)
    if changed:
        _apply_status_changes(changed, now, summary)
    db.session.commit()
    return summary


_RECORD_UPDATE = (
    update(CHECK_TABLE)
    .where(CHECK_TABLE.c.id == bindparam("b_id"), CHECK_TABLE.c.claimed_by == bindparam("b_by"))
    .values(next_run_at=bindparam("b_next"), claimed_by=None, claimed_until=None,
            status=bindparam("b_status"), state=bindparam("b_state"), flapping=bindparam("b_flapping"),
            last_result=bindparam("b_last"), last_run_at=bindparam("b_run")))


def _apply_status_changes(changed, now: dt.datetime, summary: RecordSummary) -> None:
    from . import alerts
    from .status import set_check_status

    by_component: dict[int, list] = {}
    for item, result, transition in changed:
        if transition.changed:
            summary.status_changes.append((item.slug, transition.old_status, transition.new_status))
        by_component.setdefault(item.component_id, []).append((item, result, transition))
    for component_id, entries in by_component.items():
        comp = db.session.get(Component, component_id)
        if comp is None:
            continue
        statuses = db.session.execute(
            select(Check.status, Check.on_down)
            .where(Check.component_id == component_id, Check.archived_at.is_(None))).all()
        new_status = "operational"
        from .status import worst

        new_status = worst(component_status_for(s, on_down) for s, on_down in statuses)
        old_status = comp.check_status
        if new_status != old_status:
            trigger = max(entries, key=lambda e: e[2].new_status == "down")
            set_check_status(comp, new_status, now, check_id=trigger[0].id)
            summary.component_changes.append((comp.slug, new_status))
        notify = any(t.notify for _, _, t in entries) and not any(t.flapping for _, _, t in entries)
        if new_status != old_status or any(t.flapping_changed for _, _, t in entries):
            alerts.on_component_check_status(comp, old_status, new_status, entries, now, notify=notify)


# --- the scheduling loop ---------------------------------------------------------------------------


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
        runner = Runner(max_workers=self.threads)
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
            from ..ops.metrics import CHECK_LATENCY, CHECK_RUNS, SCHEDULER_LAG

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


# --- operator helpers ------------------------------------------------------------------------------


def run_check_now(slug: str) -> tuple[Check, ProbeResult]:
    """Probe one check immediately, without recording anything (for writing conditions)."""
    check = db.session.scalar(select(Check).where(Check.slug == slug))
    if check is None:
        raise LookupError(f"no check named {slug!r}")
    spec = CheckSpec.from_dict(check.spec)
    if check.kind == "heartbeat":
        return check, evaluate_heartbeat(spec, check.last_ping_at, utcnow(), check.created_at)
    return check, run_probe(spec)


def record_ping(token: str, now: dt.datetime | None = None) -> bool:
    """A heartbeat ping arrived; returns False for an unknown token. The next evaluation sees it."""
    now = now or utcnow()
    result = db.session.execute(
        update(CHECK_TABLE).where(CHECK_TABLE.c.heartbeat_token == token, CHECK_TABLE.c.archived_at.is_(None))
        .values(last_ping_at=now))
    if result.rowcount == 0:
        db.session.rollback()
        return False
    # Judge it at once rather than at the next slot: a recovering job should show up quickly.
    db.session.execute(update(CHECK_TABLE).where(CHECK_TABLE.c.heartbeat_token == token,
                                                 CHECK_TABLE.c.claimed_by.is_(None))
                       .values(next_run_at=now))
    db.session.commit()
    return True


def latency_24h(check_id: int, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Hourly latency (p50/p95), runs and failures for the last 24 hours, oldest first."""
    now = now or utcnow()
    start = (now - dt.timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    rows = db.session.execute(
        select(CheckResult.started_at, CheckResult.latency_ms, CheckResult.outcome)
        .where(CheckResult.check_id == check_id, CheckResult.started_at >= start)).all()
    buckets: dict[dt.datetime, list] = {}
    for started, latency, outcome in rows:
        buckets.setdefault(started.replace(minute=0, second=0, microsecond=0), []).append((latency, outcome))
    rollups = {r.period_start: r for r in db.session.scalars(
        select(CheckRollup).where(CheckRollup.check_id == check_id, CheckRollup.period == "hour",
                                  CheckRollup.period_start >= start))}
    out = []
    for h in range(24):
        hour = start + dt.timedelta(hours=h)
        samples = buckets.get(hour)
        if samples:
            lat = sorted(s[0] for s in samples if s[0] is not None)
            out.append({"hour": hour.isoformat(), "runs": len(samples),
                        "failures": sum(1 for s in samples if s[1] == "down"),
                        "p50_ms": _percentile(lat, 50), "p95_ms": _percentile(lat, 95)})
        elif hour in rollups:
            r = rollups[hour]
            out.append({"hour": hour.isoformat(), "runs": r.runs, "failures": r.failures,
                        "p50_ms": r.p50_ms, "p95_ms": r.p95_ms})
        else:
            out.append({"hour": hour.isoformat(), "runs": 0, "failures": 0, "p50_ms": None, "p95_ms": None})
    return out


def _percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1))))
    return round(sorted_values[k], 2)


def rollup_and_prune(now: dt.datetime | None = None, *, retention_days: int = 7, batch: int = 20_000) -> dict:
    """Roll raw results up per check per hour and day (runs, failures, p50/p95), then delete raw rows
    older than the retention. Hours are rolled up once complete; re-running is harmless."""
    now = now or utcnow()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    last = db.session.scalar(select(func.max(CheckRollup.period_start)).where(CheckRollup.period == "hour"))
    oldest = db.session.scalar(select(func.min(CheckResult.started_at)))
    if oldest is None:
        return {"hours": 0, "deleted": 0}
    start = (last + dt.timedelta(hours=1)) if last else oldest.replace(minute=0, second=0, microsecond=0)
    hours = 0
    while start < this_hour and hours < 24 * 8:
        end = start + dt.timedelta(hours=1)
        _rollup_window(start, end, "hour")
        if end.hour == 0:
            _rollup_window(end - dt.timedelta(days=1), end, "day")
        start = end
        hours += 1
    db.session.commit()
    cutoff = now - dt.timedelta(days=retention_days)
    deleted = 0
    while True:
        ids = db.session.scalars(select(CheckResult.id).where(CheckResult.started_at < cutoff).limit(batch)).all()
        if not ids:
            break
        deleted += db.session.execute(delete(CheckResult).where(CheckResult.id.in_(ids))).rowcount
        db.session.commit()
    return {"hours": hours, "deleted": deleted}


def _rollup_window(start: dt.datetime, end: dt.datetime, period: str) -> None:
    rows = db.session.execute(
        select(CheckResult.check_id, CheckResult.latency_ms, CheckResult.outcome)
        .where(and_(CheckResult.started_at >= start, CheckResult.started_at < end))).all()
    per_check: dict[int, list] = {}
    for check_id, latency, outcome in rows:
        per_check.setdefault(check_id, []).append((latency, outcome))
    values = []
    for check_id, samples in per_check.items():
        lat = sorted(s[0] for s in samples if s[0] is not None)
        values.append({"check_id": check_id, "period": period, "period_start": start, "runs": len(samples),
                       "failures": sum(1 for s in samples if s[1] == "down"),
                       "degraded": sum(1 for s in samples if s[1] == "degraded"),
                       "p50_ms": _percentile(lat, 50), "p95_ms": _percentile(lat, 95)})
    if values:
        db.session.execute(_insert_ignore(CheckRollup.__table__), values)
