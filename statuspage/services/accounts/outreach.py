"""Account teams' outreach per incident: contacted, RCA sent, acknowledged — with who and when.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ...db import utcnow
from ...extensions import db
from ...models import (
    Account,
    AccountOutreach,
    Incident,
)
from ..audit import Actor, record
from .records import AccountError

OUTREACH_ACTIONS = {"contacted": "contacted_at", "rca_sent": "rca_sent_at", "acknowledged": "acknowledged_at"}


def outreach_for(incident: Incident) -> dict[int, AccountOutreach]:
    """Outreach rows of an incident by account id."""
    return {o.account_id: o for o in db.session.scalars(
        select(AccountOutreach).where(AccountOutreach.incident_id == incident.id))}


def outreach_row(incident: Incident, account: Account) -> AccountOutreach:
    row = db.session.scalar(select(AccountOutreach).where(AccountOutreach.incident_id == incident.id,
                                                          AccountOutreach.account_id == account.id))
    if row is None:
        row = AccountOutreach(incident_id=incident.id, account_id=account.id)
        db.session.add(row)
    return row


def record_outreach(incident: Incident, account: Account, action: str, *, actor: Actor, done: bool = True,
                    note: str | None = None, now: dt.datetime | None = None) -> AccountOutreach:
    """Mark (or with ``done=False`` clear) contacted / rca_sent / acknowledged for one account; audited."""
    if action not in OUTREACH_ACTIONS:
        raise AccountError(f"unknown outreach action {action!r}", {"action": "unknown"})
    if note is not None and len(note) > 1000:
        raise AccountError("note is too long (1000 characters at most)", {"note": "too long"})
    now = now or utcnow()
    row = outreach_row(incident, account)
    column = OUTREACH_ACTIONS[action]
    before = getattr(row, column)
    value = (before or now) if done else None
    setattr(row, column, value)
    if note is not None:
        row.note = note.strip() or None
    row.updated_by = actor.label
    row.updated_at = now
    db.session.flush()
    record(actor, f"account.outreach.{action}" + ("" if done else ".clear"), "account_outreach",
           f"{incident.public_id}:{account.external_id}", before={column: before}, after={column: value,
                                                                                        "note": row.note})
    db.session.commit()
    return row
