"""Claiming due outbox rows, exactly once across worker processes.

- PostgreSQL: one statement claims and loads a batch (``UPDATE … RETURNING`` from ``FOR UPDATE SKIP
  LOCKED`` CTEs, joined with the subscriber), committed before any network I/O.
- SQLite: a compare-and-set ``UPDATE … WHERE id IN (:candidates) AND <still due>``; the rows this
  worker won are the ones now carrying its name and this claim's lease instant.

A claim is a lease: rows of a worker that died while 'sending' become claimable again once
``claimed_until`` passes (or at once, when a worker on the same host sees the process is gone:
``services.recovery``); a live worker renews the lease of what it still holds as it records progress.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import and_, select, union_all, update

from ....db import id_in, is_postgres, utcnow
from ....extensions import db
from ....models import OutboxMessage, Subscriber

O = OutboxMessage.__table__  # noqa: E741 - Core table: bulk statements without ORM objects


S = Subscriber.__table__


def claim_batch(worker_id: str, limit: int, *, now: dt.datetime | None = None,
                lease_seconds: float | None = None) -> list[int]:
    """Reserve up to `limit` due rows for this worker and commit; returns their ids."""
    now = now or utcnow()
    settings = current_app.extensions["statuspage.settings"]
    lease = now + dt.timedelta(seconds=lease_seconds or settings.outbox_lease_seconds)
    expired = and_(O.c.status == "sending", O.c.claimed_until < now)
    due = and_(O.c.status == "pending", O.c.next_attempt_at <= now)
    session = db.session
    try:
        if is_postgres(session):
            ids = list(session.scalars(select(O.c.id).where(expired).limit(limit)
                                       .with_for_update(skip_locked=True)))
            if len(ids) < limit:
                ids += list(session.scalars(select(O.c.id).where(due).order_by(O.c.next_attempt_at)
                                            .limit(limit - len(ids)).with_for_update(skip_locked=True)))
            if ids:
                session.execute(update(O).where(O.c.id.in_(ids))
                                .values(status="sending", claimed_by=worker_id, claimed_until=lease))
        else:
            candidates = list(session.scalars(select(O.c.id).where(expired).limit(limit)))
            if len(candidates) < limit:
                candidates += list(session.scalars(select(O.c.id).where(due).order_by(O.c.next_attempt_at)
                                                   .limit(limit - len(candidates))))
            ids = []
            if candidates:
                # Compare-and-set: only rows still due change hands; the lease instant marks ours.
                won = session.execute(update(O).where(O.c.id.in_(candidates), expired | due)
                                      .values(status="sending", claimed_by=worker_id, claimed_until=lease))
                if won.rowcount:
                    ids = list(session.scalars(select(O.c.id).where(
                        O.c.id.in_(candidates), O.c.claimed_by == worker_id, O.c.claimed_until == lease,
                        O.c.status == "sending")))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return ids


def _subscriber_columns() -> tuple:
    """What rendering needs of a row's subscriber; states as booleans the database computes."""
    return (S.c.token_version, S.c.webhook_secret, S.c.webhook_format,
            S.c.confirmed_at.is_not(None).label("confirmed"),
            S.c.unsubscribed_at.is_not(None).label("unsubscribed"),
            S.c.quarantined_at.is_not(None).label("quarantined"))


def load_rows(worker_id: str, ids: list[int]) -> list[dict[str, Any]]:
    stmt = (select(O.c.id, O.c.channel, O.c.kind, O.c.audience, O.c.recipient, O.c.subscriber_id,
                   O.c.incident_id, O.c.update_id, O.c.attempts, O.c.payload, *_subscriber_columns())
            .select_from(O.outerjoin(S, S.c.id == O.c.subscriber_id))
            .where(O.c.id.in_(ids), O.c.claimed_by == worker_id, O.c.status == "sending")
            .order_by(O.c.id))
    return [dict(r._mapping) for r in db.session.execute(stmt)]


def claim_rows(worker_id: str, limit: int) -> list[dict[str, Any]]:
    """Claim up to `limit` due rows and load what rendering needs (row + subscriber); commits.

    PostgreSQL does it in one statement (the claim's ``UPDATE … RETURNING`` joined with the subscriber),
    SQLite with ``claim_batch`` and a read.
    """
    if not is_postgres(db.session):
        ids = claim_batch(worker_id, limit)
        rows = load_rows(worker_id, ids) if ids else []
        db.session.commit()
        return rows
    now = utcnow()
    settings = current_app.extensions["statuspage.settings"]
    lease = now + dt.timedelta(seconds=settings.outbox_lease_seconds)
    # Expired leases first (a dead worker's rows), then due rows oldest first; both skip rows another
    # worker holds. CTEs are read on demand, so `due` is only scanned for what `expired` did not fill.
    expired = (select(O.c.id).where(O.c.status == "sending", O.c.claimed_until < now).limit(limit)
               .with_for_update(skip_locked=True).cte("expired"))
    due = (select(O.c.id).where(O.c.status == "pending", O.c.next_attempt_at <= now)
           .order_by(O.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True).cte("due"))
    picked = union_all(select(expired.c.id), select(due.c.id)).limit(limit).cte("picked")
    claimed = (update(O).where(O.c.id == picked.c.id)
               .values(status="sending", claimed_by=worker_id, claimed_until=lease)
               .returning(O.c.id, O.c.channel, O.c.kind, O.c.audience, O.c.recipient, O.c.subscriber_id,
                          O.c.incident_id, O.c.update_id, O.c.attempts, O.c.payload)
               .cte("claimed"))
    stmt = (select(claimed, *_subscriber_columns())
            .select_from(claimed.outerjoin(S, S.c.id == claimed.c.subscriber_id))
            .order_by(claimed.c.id))
    try:
        rows = [dict(r._mapping) for r in db.session.execute(stmt)]
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return rows


def release_rows(worker_id: str, ids: list[int]) -> None:
    """Give back rows this worker claimed but did not try (shutting down, or its transport is down)."""
    if not ids:
        return
    try:
        db.session.execute(update(O).where(id_in(O.c.id, ids), O.c.claimed_by == worker_id, O.c.status == "sending")
                           .values(status="pending", claimed_by=None, claimed_until=None))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
