"""What the console and the API do with outbox rows: counts, and putting a failed row back in the queue.
"""

from __future__ import annotations

from sqlalchemy import func, select

from ....db import utcnow
from ....extensions import db
from ....models import OutboxMessage
from ...audit import Actor, record

O = OutboxMessage.__table__  # noqa: E741 - Core table


class OutboxError(ValueError):
    """A console action on an outbox row that cannot be done (unknown row, wrong state)."""


def retry_row(row_id: int, *, actor: Actor) -> OutboxMessage:
    """Put a failed or cancelled row back in the queue now (attempts start over). Commits."""
    row = db.session.get(OutboxMessage, row_id)
    if row is None:
        raise OutboxError("no such outbox row")
    if row.status not in ("failed", "cancelled"):
        raise OutboxError(f"only failed or cancelled rows can be retried; this one is {row.status}")
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.claimed_by = row.claimed_until = None
    record(actor, "outbox.retry", "outbox", row.id, before=before, after={"status": "pending"})
    db.session.commit()
    return row


def outbox_counts() -> dict[str, int]:
    """Rows per status, for the console header and /api/v1/outbox."""
    return {status: n for status, n in db.session.execute(
        select(O.c.status, func.count()).group_by(O.c.status))}
