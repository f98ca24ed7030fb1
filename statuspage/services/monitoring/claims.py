"""Claiming due checks, exactly once across worker processes.

PostgreSQL: ``FOR UPDATE SKIP LOCKED`` in a short transaction; SQLite: compare-and-set on
``next_run_at``. Both commit before any network I/O. A claim moves ``next_run_at`` to the end of a
lease, so if the worker dies the check becomes due again when the lease passes and another worker
takes it over (at once when a worker on the same host sees the process is gone: ``services.recovery``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update

from checks.spec import CheckSpec

from ...db import is_postgres, utcnow
from ...extensions import db
from ...models import Check

log = logging.getLogger("statuspage.monitor")


CHECK_TABLE = Check.__table__


LEASE_MARGIN = dt.timedelta(seconds=30)


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
    hour_stats: dict = field(default_factory=dict)  # this hour's runs so far (see results.record_results)
    started_at: dt.datetime | None = None
    locations: list | None = None  # where it is probed from ([]: the local worker alone)
    extra: dict = field(default_factory=dict)


_CLAIM_COLUMNS = (
    CHECK_TABLE.c.id, CHECK_TABLE.c.slug, CHECK_TABLE.c.component_id, CHECK_TABLE.c.kind, CHECK_TABLE.c.spec,
    CHECK_TABLE.c.next_run_at, CHECK_TABLE.c.state, CHECK_TABLE.c.status, CHECK_TABLE.c.on_down,
    CHECK_TABLE.c.failure_threshold, CHECK_TABLE.c.success_threshold, CHECK_TABLE.c.last_ping_at,
    CHECK_TABLE.c.created_at, CHECK_TABLE.c.interval_seconds, CHECK_TABLE.c.timeout_seconds,
    CHECK_TABLE.c.hour_stats, CHECK_TABLE.c.locations,
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
             .where(CHECK_TABLE.c.archived_at.is_(None), CHECK_TABLE.c.next_run_at <= horizon,
                    CHECK_TABLE.c.probe_local.is_(True))
             .order_by(CHECK_TABLE.c.next_run_at).limit(limit))
    postgres = is_postgres()
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
            interval=row.interval_seconds, lease_until=lease_until, hour_stats=row.hour_stats or {},
            locations=row.locations or []))
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
