"""Idempotency keys of API POSTs: a retry with the same key gets the first answer instead of a second effect.

The web side (``web/api/idempotency.py``) reads the header and replays; the rows are written here.

Invariant: a request that took effect always leaves its key behind. :func:`reserve_key` writes the key
*inside the request's own transaction* (flushed, not committed), so it commits together with whatever the
service doing the work commits — or disappears with it when the request is refused and rolled back. A key
whose answer was never stored (the process died between the commit and :func:`store_response`) stays
:data:`IN_FLIGHT`, and a retry is told so rather than doing the work twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..db import utcnow
from ..extensions import db
from ..models import IdempotencyKey

KEY_TTL = dt.timedelta(hours=24)  # how long a retry can count on being recognised (as Stripe's API)
IN_FLIGHT = 0  # status_code of a key whose request has not stored its answer (yet)


def find_key(token_id: int | None, key: str) -> IdempotencyKey | None:
    """The stored key of this token (``None``: a console session, whose ``key`` carries the user)."""
    owner = IdempotencyKey.token_id.is_(None) if token_id is None else IdempotencyKey.token_id == token_id
    return db.session.scalar(select(IdempotencyKey).where(owner, IdempotencyKey.key == key))


def reserve_key(token_id: int | None, key: str, request_hash: str) -> IdempotencyKey | None:
    """Claim ``key`` in the caller's open transaction; None when claimed (go on), else the earlier row.

    Does not commit: the key commits with the request's work (see the module docstring). When a
    concurrent request with the same key got there first, the transaction is rolled back and its row
    returned.
    """
    stored = find_key(token_id, key)
    if stored is not None:
        return stored
    db.session.add(IdempotencyKey(token_id=token_id, key=key, request_hash=request_hash,
                                  status_code=IN_FLIGHT, response_body=""))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return find_key(token_id, key)
    return None


def store_response(token_id: int | None, key: str, request_hash: str, status_code: int, body: str) -> None:
    """Record the answer to replay under ``key``. Commits.

    If the request rolled back its key (it was refused), the refusal is stored all the same: it is the
    answer a retry gets.
    """
    record = find_key(token_id, key)
    if record is None:
        record = IdempotencyKey(token_id=token_id, key=key, request_hash=request_hash)
        db.session.add(record)
    record.status_code = status_code
    record.response_body = body
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent retry stored it first; its answer is the same
        db.session.rollback()


def release_key(token_id: int | None, key: str) -> None:
    """Forget a key whose answer cannot be replayed (not JSON, a server error), so a retry runs again. Commits."""
    record = find_key(token_id, key)
    if record is not None and record.status_code == IN_FLIGHT:
        db.session.delete(record)
    db.session.commit()


def prune_idempotency_keys(now: dt.datetime | None = None) -> int:
    """Forget keys older than ``KEY_TTL``; returns how many. Commits."""
    cutoff = (now or utcnow()) - KEY_TTL
    deleted = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)).rowcount
    db.session.commit()
    return deleted or 0
