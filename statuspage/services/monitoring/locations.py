"""Probe locations (issue 14): per-location check states, the quorum's decision, stale agents.

A check with ``locations`` other than the local worker's own is probed from several places. Each
(check, location) has its own flap-proof state in ``CheckLocation``; results come from the local
worker (``results.record_results``) and from probe agents (``/api/v1/probe/<location>/results``)
through one function, :func:`record_location_results`, keyed by (check, slot, location): a result
whose slot is not newer than the location's last one is a duplicate and counts nothing.

After each batch the touched checks are decided again by the pure ``checks.quorum.decide``; a change
moves the component (``status.apply_status_changes``) exactly as a single-location check does. The
worker's :func:`sweep_locations` job decides again when time alone changes things (a location goes
stale) and tells on-call when an agent stops reporting, and when it is back.

Nothing here commits: the caller (the API view through the service call, the recorder, the job) does.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from checks.quorum import Decision, LocationView, decide
from checks.result import ProbeResult
from checks.state import CheckState, apply

from ...db import insert_ignore, is_postgres, utcnow
from ...extensions import db
from ...models import Check, CheckLocation, CheckResult, Component, ProbeLocation
from ..monitoring_gaps import reconcile_component_delays, sync_component_delays
from ..notifications.account_mail import enqueue_regional_digest
from ..notifications.oncall import enqueue_oncall_alert
from ..page import bump_site_version
from .rollups import fold_run, write_rollups
from .status import apply_status_changes

log = logging.getLogger("statuspage.monitor")

CHECK_TABLE = Check.__table__
CL_TABLE = CheckLocation.__table__
RECENT_LATENCIES = 60  # per (check, location): the check page's per-location percentiles


def settings():
    return current_app.extensions["statuspage.settings"]


def local_location() -> str:
    """The local worker's own location name (``STATUSPAGE_LOCATION``, default ``local``)."""
    return settings().location


def check_locations(locations: list | None) -> list[str]:
    """Where a check is probed from: its ``locations``, or the local worker alone."""
    return list(locations or []) or [local_location()]


def uses_locations(locations: list | None) -> bool:
    """Whether a check's status is a quorum over per-location states (anything but the local worker alone)."""
    names = list(locations or [])
    return bool(names) and names != [local_location()]


def stale_after(loc: ProbeLocation | None) -> float:
    if loc is not None and loc.stale_after_seconds:
        return float(loc.stale_after_seconds)
    return float(settings().probe_stale_after)


def reported_within(last: dt.datetime | None, limit: float, now: dt.datetime) -> bool:
    """The staleness rule, one place for the quorum, the sweep and every page: heard from within ``limit``."""
    return last is not None and (now - last).total_seconds() <= limit


def agent_fresh(loc: ProbeLocation | None, now: dt.datetime) -> bool:
    """Whether an agent's location has reported within its staleness limit."""
    return loc is not None and reported_within(loc.last_report_at, stale_after(loc), now)


def assigned_counts() -> dict[str, int]:
    """How many active network checks each location probes (the local worker's included)."""
    counts: dict[str, int] = {}
    for (locations,) in db.session.execute(
            select(Check.locations).where(Check.archived_at.is_(None), Check.kind != "heartbeat")):
        for name in check_locations(locations):
            counts[name] = counts.get(name, 0) + 1
    return counts


def ensure_locations(names, *, defined: dict[str, dict] | None = None) -> dict[str, ProbeLocation]:
    """ProbeLocation rows for these names (created when missing; names/limits from the config file)."""
    wanted = set(names) | {local_location()} | set(defined or {})
    rows = {r.slug: r for r in db.session.scalars(select(ProbeLocation))}
    for name in sorted(wanted):
        row = rows.get(name)
        if row is None:
            row = ProbeLocation(slug=name, results_received=0, created_at=utcnow())
            db.session.add(row)
            rows[name] = row
        if defined and name in defined:
            row.name = defined[name].get("name")
            row.stale_after_seconds = defined[name].get("stale_after")
    db.session.flush()
    return rows


# --- recording ---------------------------------------------------------------------------------------

@dataclass
class LocationRow:
    """One result from one location, as the agent (or the local worker) reports it."""

    check_id: int
    slot: dt.datetime
    started_at: dt.datetime
    result: ProbeResult
    index: int = 0  # position in the posted batch (for the 422's ``rejected`` list)


@dataclass
class IngestSummary:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    stored: int = 0
    decisions_changed: int = 0
    status_changes: list[tuple[str, str, str]] = field(default_factory=list)
    component_changes: list[tuple[str, str]] = field(default_factory=list)


_CHECK_COLUMNS = (
    CHECK_TABLE.c.id, CHECK_TABLE.c.slug, CHECK_TABLE.c.component_id, CHECK_TABLE.c.kind,
    CHECK_TABLE.c.locations, CHECK_TABLE.c.quorum, CHECK_TABLE.c.on_partial, CHECK_TABLE.c.probe_local,
    CHECK_TABLE.c.interval_seconds, CHECK_TABLE.c.timeout_seconds, CHECK_TABLE.c.failure_threshold,
    CHECK_TABLE.c.success_threshold, CHECK_TABLE.c.archived_at, CHECK_TABLE.c.hour_stats,
    CHECK_TABLE.c.status, CHECK_TABLE.c.on_down,
)


def primary_location(check) -> str:
    """The location whose runs feed the check's hourly figures: the local worker if it probes the
    check, else the first listed (one writer per figure, so no two processes fold into it at once)."""
    names = check_locations(check.locations)
    return local_location() if check.probe_local else names[0]


def record_location_results(location: str, rows: list[LocationRow], *, worker_id: str | None = None,
                            now: dt.datetime | None = None, locked_checks: bool = False) -> IngestSummary:
    """Fold results seen from ``location`` into per-location states, then decide the touched checks.

    Rows must be in the order they were produced. Unknown checks and checks not probed from
    ``location`` are rejected (listed in the summary); the rest are kept. In the caller's transaction.
    """
    now = now or utcnow()
    summary = IngestSummary()
    if not rows:
        return summary
    postgres = is_postgres()
    ids = sorted({r.check_id for r in rows})
    query = select(*_CHECK_COLUMNS).where(CHECK_TABLE.c.id.in_(ids)).order_by(CHECK_TABLE.c.id)
    checks = {row.id: row for row in db.session.execute(query)}
    cl_query = (select(CheckLocation).where(CheckLocation.check_id.in_(ids), CheckLocation.location == location)
                .order_by(CheckLocation.check_id))
    if postgres:
        # Two batches of one location at once (an agent's retry while the first is still being written):
        # the second waits here, then sees the first's last_slot and counts nothing twice.
        cl_query = cl_query.with_for_update()
    states = {cl.check_id: cl for cl in db.session.scalars(cl_query)}
    result_rows: list[dict] = []
    rollup_rows: list[dict] = []
    hour_updates: dict[int, dict] = {}
    touched: set[int] = set()
    for r in rows:
        check = checks.get(r.check_id)
        if check is None or check.archived_at is not None:
            summary.rejected.append({"index": r.index, "field": f"results[{r.index}].check_id",
                                     "message": f"no active check with id {r.check_id}"})
            continue
        if location not in check_locations(check.locations) or check.kind == "heartbeat":
            summary.rejected.append({"index": r.index, "field": f"results[{r.index}].check_id",
                                     "message": f"check {check.slug} is not probed from {location}"})
            continue
        cl = states.get(r.check_id)
        if cl is None:
            cl = CheckLocation(check_id=r.check_id, location=location, status="unknown", state={})
            db.session.add(cl)
            states[r.check_id] = cl
        if cl.last_slot is not None and r.slot <= cl.last_slot:
            summary.duplicates += 1
            continue
        result = r.result
        previous = CheckState.from_dict(cl.state)
        transition = apply(previous, result.outcome, r.started_at, failure_threshold=check.failure_threshold,
                           success_threshold=check.success_threshold)
        if result.outcome != "up" or previous.consecutive_successes == 0:
            result_rows.append({
                "check_id": check.id, "scheduled_for": r.slot, "started_at": r.started_at, "worker_id": worker_id,
                "location": location, "outcome": result.outcome, "latency_ms": result.latency_ms,
                "status_code": result.status_code, "error_class": result.error_class,
                "message": (result.message or "")[:2000], "conditions": result.conditions})
        if transition.state.status != cl.status:
            cl.status_since = r.started_at
        cl.status = transition.state.status
        cl.state = transition.state.to_dict()
        cl.last_slot = r.slot
        cl.last_run_at = r.started_at
        last = result.to_dict()
        last["location"] = location
        cl.last_result = last
        if result.latency_ms is not None:
            cl.recent_latency = (list(cl.recent_latency or []) + [round(float(result.latency_ms), 3)])[
                -RECENT_LATENCIES:]
        if primary_location(check) == location:
            stats, finished = fold_run(check.id, hour_updates.get(check.id, check.hour_stats), r.started_at,
                                       result.outcome, result.latency_ms)
            hour_updates[check.id] = stats
            if finished is not None:
                rollup_rows.append(finished)
        touched.add(check.id)
        summary.accepted += 1
    db.session.flush()
    if result_rows:
        db.session.execute(insert_ignore(CheckResult.__table__).on_conflict_do_nothing(), result_rows)
        summary.stored = len(result_rows)
    write_rollups(rollup_rows)
    if hour_updates:
        db.session.execute(update(CHECK_TABLE).where(CHECK_TABLE.c.id == bindparam("b_id"))
                           .values(hour_stats=bindparam("b_hour")),
                           [{"b_id": k, "b_hour": v} for k, v in sorted(hour_updates.items())],
                           execution_options={"synchronize_session": False})
    if touched:
        decide_checks(sorted(touched), now, summary, locked=locked_checks)
    return summary


# --- deciding ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuorumTransition:
    """What a new decision means, in the shape ``status.apply_status_changes`` and the alerts read."""

    old_status: str
    new_status: str
    changed: bool
    notify: bool = True
    flapping_changed: bool = False
    flapping: bool = False


def location_views(check, cls: list[CheckLocation], locs: dict[str, ProbeLocation],
                   now: dt.datetime) -> list[LocationView]:
    """Each assigned location's view of one check, with its freshness."""
    by_name = {cl.location: cl for cl in cls}
    local = local_location()
    views = []
    for name in check_locations(check.locations):
        cl = by_name.get(name)
        loc = locs.get(name)
        fresh_agent = name == local or agent_fresh(loc, now)
        # A result older than one run plus the limit is stale too (the agent reports, but not this check).
        result_fresh = cl is None or cl.last_run_at is None or reported_within(
            cl.last_run_at, check.interval_seconds + check.timeout_seconds + stale_after(loc), now)
        message = ((cl.last_result or {}).get("message") or "") if cl is not None else ""
        views.append(LocationView(name=name, status=cl.status if cl is not None else "unknown",
                                  fresh=fresh_agent and result_fresh,
                                  since=cl.status_since if cl is not None else None, message=message))
    return views


def decision_for(check, cls: list[CheckLocation], locs: dict[str, ProbeLocation], now: dt.datetime) -> Decision:
    return decide(location_views(check, cls, locs, now), check.quorum)


def decide_checks(check_ids: list[int], now: dt.datetime, summary: IngestSummary | None = None, *,
                  locked: bool = False) -> IngestSummary:
    """Decide these checks again from their locations; move components and alert when that changes."""
    summary = summary or IngestSummary()
    if not check_ids:
        return summary
    query = select(Check).where(Check.id.in_(check_ids), Check.archived_at.is_(None)).order_by(Check.id)
    if is_postgres() and not locked:
        # FOR NO KEY UPDATE, not FOR UPDATE: it still serialises two batches deciding one check, but does
        # not conflict with the KEY SHARE lock a foreign key takes — a batch that has already inserted a
        # check_result or check_location row of a check (a first or failing result) would otherwise wait
        # on a batch holding that check while that batch waits on it: a deadlock, as soon as several
        # agents report the same checks at once (bench/ingest.py).
        query = query.with_for_update(key_share=True)
    checks = db.session.scalars(query).all()
    cls_by_check: dict[int, list[CheckLocation]] = {}
    for cl in db.session.scalars(select(CheckLocation).where(CheckLocation.check_id.in_(check_ids))):
        cls_by_check.setdefault(cl.check_id, []).append(cl)
    locs = {r.slug: r for r in db.session.scalars(select(ProbeLocation))}
    changed = []
    partial_moves = []
    delay_flips: set[int] = set()
    public_change = False
    for check in checks:
        if not uses_locations(check.locations):
            continue
        cls = cls_by_check.get(check.id, [])
        decision = decision_for(check, cls, locs, now)
        partial = [{"location": v.name, "status": v.status, "since": v.since.isoformat() if v.since else None,
                    "message": v.message[:300]} for v in decision.partial]
        old_partial = check.partial_failures or []
        old_status = check.status
        seen = {(p.get("location"), p.get("since")) for p in old_partial}
        for v in decision.partial:
            if (v.name, v.since.isoformat() if v.since else None) not in seen:
                # Below the quorum: nothing public, but the owners of accounts served from there hear of it.
                enqueue_regional_digest(check.component_id, v.name, v.since, check_id=check.id, now=now)
        if decision.status != old_status:
            latest = _representative_result(decision, cls)
            changed.append((SimpleNamespace(id=check.id, slug=check.slug, component_id=check.component_id),
                            latest, QuorumTransition(old_status, decision.status, True)))
        elif check.on_partial == "degraded_performance" and bool(partial) != bool(old_partial):
            partial_moves.append(check.component_id)
        if decision.status != old_status or bool(check.monitoring_delayed) != decision.delayed:
            # The trust page reads both (a delayed component says "Monitoring data delayed"): a change
            # must reach its cache even when the component's own status stays the same.
            public_change = public_change or _component_is_public(check.component_id)
        if bool(check.monitoring_delayed) != decision.delayed and check.component_id is not None:
            delay_flips.add(check.component_id)
        check.status = decision.status
        check.status_reason = decision.reason
        check.monitoring_delayed = decision.delayed
        check.partial_failures = partial or None
        last = max((cl for cl in cls if cl.last_run_at), key=lambda cl: cl.last_run_at, default=None)
        if last is not None:
            check.last_result = last.last_result
            check.last_run_at = last.last_run_at
        if decision.status != old_status:
            summary.decisions_changed += 1
    db.session.flush()
    if delay_flips:
        # Time nobody could decide is not monitored for the component (uptime leaves it out): open or close
        # its delay in this same transaction, so the flag and the stretch never disagree.
        sync_component_delays(delay_flips, now)
    if public_change:
        bump_site_version()
    if changed or partial_moves:
        apply_status_changes(changed, now, summary, also_components=partial_moves)
    return summary


def _component_is_public(component_id: int) -> bool:
    return bool(db.session.scalar(select(Component.public).where(Component.id == component_id)))


def _representative_result(decision: Decision, cls: list[CheckLocation]) -> ProbeResult:
    """The result an alert or auto-incident quotes: the newest from a location that confirms the status."""
    names = set(decision.down if decision.status == "down" else decision.down + decision.degraded)
    pool = [cl for cl in cls if cl.location in names and cl.last_result] or [cl for cl in cls if cl.last_result]
    if not pool:
        return ProbeResult(outcome="down" if decision.status == "down" else "up", message=decision.reason)
    newest = max(pool, key=lambda cl: cl.last_run_at or dt.datetime.min.replace(tzinfo=dt.UTC))
    result = ProbeResult.from_dict(newest.last_result)
    if decision.status in ("down", "degraded"):
        result.message = f"{decision.reason}: {result.message}"
    elif decision.status == "unknown":
        result.message = decision.reason
    return result


# --- staleness ---------------------------------------------------------------------------------------

def sweep_locations(now: dt.datetime | None = None) -> dict[str, list[str]]:
    """The worker's job: decide multi-location checks again (time alone makes locations stale), and tell
    on-call once when an agent stops reporting and once when it is back. Commits."""
    now = now or utcnow()
    local = local_location()
    went_stale, came_back = [], []
    counts = assigned_counts()
    for loc in db.session.scalars(select(ProbeLocation).order_by(ProbeLocation.slug)):
        if loc.slug == local:
            continue
        assigned = counts.get(loc.slug, 0)
        if not assigned and loc.last_report_at is None:
            continue
        fresh = agent_fresh(loc, now)
        if not fresh and loc.stale_since is None:
            loc.stale_since = now
            went_stale.append(loc.slug)
            last = loc.last_report_at.isoformat() if loc.last_report_at else None
            enqueue_oncall_alert(
                # Keyed by the last report it went silent after: two workers sweeping at once mail once.
                f"location-stale:{loc.slug}:{_stamp(loc.last_report_at)}",
                {"component_name": f"Probe location {loc.slug}", "status": "location_stale", "check": None,
                 "at": now.isoformat(),
                 "result": {"message": (f"The probe agent of {loc.slug} has not reported since {last}"
                                        if last else f"The probe agent of {loc.slug} has never reported")
                            + f" ({assigned} checks assigned). Its location counts as unknown — never down, "
                              "never up — until it reports again."}})
            log.warning("probe location %s is stale (last report %s)", loc.slug, loc.last_report_at)
        elif fresh and loc.stale_since is not None:
            loc.stale_since = None
            came_back.append(loc.slug)
            enqueue_oncall_alert(
                f"location-back:{loc.slug}:{_stamp(loc.last_report_at)}",
                {"component_name": f"Probe location {loc.slug}", "status": "location_back", "check": None,
                 "at": now.isoformat(), "result": {"message": f"The probe agent of {loc.slug} reports again."}})
            log.info("probe location %s reports again", loc.slug)
    ids = [cid for cid, locations in db.session.execute(
        select(Check.id, Check.locations).where(Check.archived_at.is_(None), Check.kind != "heartbeat"))
        if uses_locations(locations)]
    for start in range(0, len(ids), 500):
        # Read first, without locks; lock and write only the checks whose decision moved with time.
        moved = _decisions_moved(ids[start:start + 500], now)
        if moved:
            decide_checks(moved, now)
    # A delayed check archived or moved off locations is never decided again: its component's delay
    # closes here (and a flag without its stretch gets one).
    reconcile_component_delays(now)
    db.session.commit()
    return {"stale": went_stale, "back": came_back}


def _stamp(moment: dt.datetime | None) -> str:
    return "never" if moment is None else str(int(moment.timestamp() * 1000))


def _decisions_moved(check_ids: list[int], now: dt.datetime) -> list[int]:
    checks = db.session.execute(select(
        Check.id, Check.locations, Check.quorum, Check.interval_seconds, Check.timeout_seconds, Check.status,
        Check.monitoring_delayed, Check.partial_failures).where(Check.id.in_(check_ids))).all()
    cls_by_check: dict[int, list[CheckLocation]] = {}
    for cl in db.session.scalars(select(CheckLocation).where(CheckLocation.check_id.in_(check_ids))):
        cls_by_check.setdefault(cl.check_id, []).append(cl)
    locs = {r.slug: r for r in db.session.scalars(select(ProbeLocation))}
    moved = []
    for check in checks:
        d = decision_for(check, cls_by_check.get(check.id, []), locs, now)
        before = (check.status, bool(check.monitoring_delayed), sorted(p["location"] for p in check.partial_failures or []))
        if (d.status, d.delayed, sorted(v.name for v in d.partial)) != before:
            moved.append(check.id)
    return moved


def note_agent_report(location: str, agent: dict, *, address: str | None, oldest_slot: dt.datetime | None,
                      results: int, now: dt.datetime | None = None) -> ProbeLocation:
    """An agent posted (results or a heartbeat): remember when, its version, buffer and lag."""
    now = now or utcnow()
    loc = db.session.scalar(select(ProbeLocation).where(ProbeLocation.slug == location))
    if loc is None:
        loc = ProbeLocation(slug=location, results_received=0, created_at=now)
        db.session.add(loc)
    loc.last_report_at = now
    loc.agent_version = _short(agent.get("version"), 50)
    loc.agent_host = _short(agent.get("hostname"), 200)
    loc.agent_address = _short(address, 64)
    depth = agent.get("buffer_depth")
    loc.buffer_depth = depth if isinstance(depth, int) and not isinstance(depth, bool) and depth >= 0 else None
    dropped = agent.get("dropped")
    loc.dropped = dropped if isinstance(dropped, int) and not isinstance(dropped, bool) and dropped >= 0 else None
    oldest = agent.get("oldest_buffered_at")
    loc.oldest_buffered_at = _parse_time(oldest)
    loc.results_received = (loc.results_received or 0) + results
    if oldest_slot is not None:
        loc.last_lag_seconds = max(0.0, (now - oldest_slot).total_seconds())
    return loc


def _short(value, limit: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


def _parse_time(value) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else None


def location_row(location: str) -> ProbeLocation | None:
    return db.session.scalar(select(ProbeLocation).where(ProbeLocation.slug == location))


def ingest_batch(location: str, rows: list[LocationRow], agent: dict, *, address: str | None,
                 worker_id: str | None = None, now: dt.datetime | None = None) -> IngestSummary:
    """A probe agent's batch: note the agent's report, fold in its results, decide. Commits."""
    now = now or utcnow()
    oldest = min((r.slot for r in rows), default=None)
    for attempt in (1, 2):
        try:
            # First: the batch's own decisions must see this location as fresh again.
            loc = note_agent_report(location, agent, address=address, oldest_slot=oldest, results=0, now=now)
            db.session.flush()
            summary = record_location_results(location, rows, worker_id=worker_id, now=now)
            loc.results_received = (loc.results_received or 0) + summary.accepted
            db.session.commit()
            return summary
        except IntegrityError:
            # Two batches of one location raced to create the same (check, location) row: the loser
            # starts again and now sees the winner's row (and its last slot), so nothing counts twice.
            db.session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def agent_checks(location: str) -> list[Check]:
    """The network checks a location's agent probes."""
    rows = db.session.scalars(select(Check).where(Check.archived_at.is_(None), Check.kind != "heartbeat")
                              .order_by(Check.id)).all()
    return [c for c in rows if location in (c.locations or []) and location != local_location()]
