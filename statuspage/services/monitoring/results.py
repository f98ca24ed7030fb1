"""Recording probe results: one write transaction per batch, multi-row statements.

Finishing a run folds it into the flap-proof state machine (``checks.state``) and into the check's
hourly figures (``rollups.fold_run``), keeps it as the check's ``last_result``, moves ``next_run_at``
to the next slot and releases the claim — one executemany UPDATE for the batch. A run is also stored
as a ``CheckResult`` row (insert-or-ignore; a unique key on (check, slot) is the backstop) when it
matters later: it was not up, or it is the first up after one that was not (a recovery), or the
check's first run. So storage grows with failures, not with probes × retention.

The next slot follows the run's *start*: a slow probe never costs its check a slot. A worker that was
behind by a whole interval skips, never piles up, the slots that passed — and says how many
(``RecordSummary.skipped_slots``). When a check's state changes, its component's status is recomputed
and ``monitoring.alerts`` opens auto-incidents and tells on-call, all in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, update

from checks.probes import evaluate_heartbeat, run_probe
from checks.result import ProbeResult
from checks.state import CheckState, apply

from ...db import insert_ignore, utcnow
from ...extensions import db
from ...models import CheckResult
from .claims import CHECK_TABLE, Claimed
from .locations import LocationRow, local_location, record_location_results, uses_locations
from .rollups import fold_run, write_rollups
from .schedule import next_slot_after, run_interval
from .status import apply_status_changes, component_status_for  # noqa: F401 - component_status_for is re-exported

RESULT_TABLE = CheckResult.__table__


def probe_claimed(item: Claimed, now: dt.datetime | None = None) -> ProbeResult:
    """Run one claimed check (heartbeats are judged without network). Never raises."""
    if item.kind == "heartbeat":
        return evaluate_heartbeat(item.spec, item.last_ping_at, now or utcnow(), item.created_at)
    return run_probe(item.spec, now=now)


@dataclass
class RecordSummary:
    runs: int = 0  # runs recorded
    results: int = 0  # of which stored as CheckResult rows
    skipped_slots: int = 0  # slots that passed unrun because the worker was behind
    checks_behind: int = 0
    max_behind_s: float = 0.0
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
    rollup_rows = []
    changed: list[tuple[Claimed, ProbeResult, Any]] = []
    located: list[LocationRow] = []
    release_params = []
    for item, result in sorted(items, key=lambda pair: (pair[0].id, pair[0].slot)):
        started = item.started_at or result.checked_at or now
        previous = CheckState.from_dict(item.state)
        heartbeat = item.kind == "heartbeat"
        if not heartbeat and uses_locations(item.locations):
            interval = run_interval(item.kind, item.interval)
            next_run = next_slot_after(item.slug, interval, max(started, item.slot))
            release_params.append({"b_id": item.id, "b_by": worker_id, "b_next": next_run})
            located.append(LocationRow(item.id, item.slot, started, result))
            continue
        if result.outcome != "up" or previous.consecutive_successes == 0:
            result_rows.append({
                "check_id": item.id, "scheduled_for": item.slot, "started_at": started, "worker_id": worker_id,
                "outcome": result.outcome, "latency_ms": result.latency_ms, "status_code": result.status_code,
                "error_class": result.error_class, "message": (result.message or "")[:2000],
                "conditions": result.conditions,
            })
        transition = apply(
            previous, result.outcome, started,
            failure_threshold=1 if heartbeat else item.failure_threshold,
            success_threshold=1 if heartbeat else item.success_threshold)
        interval = run_interval(item.kind, item.interval)
        next_run = next_slot_after(item.slug, interval, max(started, item.slot))
        skipped = round((next_run - item.slot).total_seconds() / interval) - 1
        if skipped > 0:
            summary.skipped_slots += skipped
            summary.checks_behind += 1
            summary.max_behind_s = max(summary.max_behind_s, (started - item.slot).total_seconds())
        hour_stats, finished_hour = fold_run(item.id, item.hour_stats, started, result.outcome,
                                             None if heartbeat else result.latency_ms)
        if finished_hour is not None:
            rollup_rows.append(finished_hour)
        check_params.append({
            "b_id": item.id, "b_by": worker_id, "b_next": next_run, "b_status": transition.state.status,
            "b_state": transition.state.to_dict(), "b_flapping": transition.state.flapping,
            "b_last": result.to_dict(), "b_run": started, "b_hour": hour_stats,
        })
        if transition.changed or transition.flapping_changed:
            changed.append((item, result, transition))
    if result_rows:
        db.session.execute(insert_ignore(RESULT_TABLE).on_conflict_do_nothing(), result_rows)
    write_rollups(rollup_rows)
    if check_params:
        db.session.execute(_RECORD_UPDATE, check_params, execution_options={"synchronize_session": False})
    if release_params:
        db.session.execute(_RELEASE_UPDATE, release_params, execution_options={"synchronize_session": False})
    summary.runs = len(items)
    summary.results = len(result_rows)
    if changed:
        apply_status_changes(changed, now, summary)
    if located:
        # Checks probed from several locations: this worker's run is one location's view; the quorum decides.
        outcome = record_location_results(local_location(), located, worker_id=worker_id, now=now)
        summary.status_changes.extend(outcome.status_changes)
        summary.component_changes.extend(outcome.component_changes)
    db.session.commit()
    return summary


_RECORD_UPDATE = (
    update(CHECK_TABLE)
    .where(CHECK_TABLE.c.id == bindparam("b_id"), CHECK_TABLE.c.claimed_by == bindparam("b_by"))
    .values(next_run_at=bindparam("b_next"), claimed_by=None, claimed_until=None,
            status=bindparam("b_status"), state=bindparam("b_state"), flapping=bindparam("b_flapping"),
            last_result=bindparam("b_last"), last_run_at=bindparam("b_run"), hour_stats=bindparam("b_hour")))


_RELEASE_UPDATE = (
    update(CHECK_TABLE)
    .where(CHECK_TABLE.c.id == bindparam("b_id"), CHECK_TABLE.c.claimed_by == bindparam("b_by"))
    .values(next_run_at=bindparam("b_next"), claimed_by=None, claimed_until=None))
