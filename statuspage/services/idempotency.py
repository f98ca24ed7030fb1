"""Idempotency keys of API POSTs (the web layer writes them; see ``web.api_v1.idempotent``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete

from ..db import utcnow
from ..extensions import db
from ..models import IdempotencyKey

KEY_TTL = dt.timedelta(hours=24)  # how long a retry can count on being recognised (as Stripe's API)


def prune_idempotency_keys(now: dt.datetime | None = None) -> int:
    """Forget keys older than ``KEY_TTL``; returns how many. Commits."""
    cutoff = (now or utcnow()) - KEY_TTL
    deleted = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)).rowcount
    db.session.commit()
    return deleted or 0
