"""Silencing a check: its failures change no status and open no incident until the given time."""

from __future__ import annotations

import datetime as dt

from ...db import utcnow
from ...extensions import db
from ...models import Check
from ..audit import Actor, record
from ..incidents.lifecycle import IncidentError

MAX_SILENCE = dt.timedelta(days=30)


def silence_check(check: Check, until: dt.datetime | None, *, actor: Actor,
                  now: dt.datetime | None = None) -> Check:
    """Silence `check` until `until` (None lifts the silence). At most 30 days ahead."""
    now = now or utcnow()
    if until is not None:
        if until.tzinfo is None:
            raise IncidentError("until needs a time zone", "until")
        if until <= now:
            raise IncidentError("until must be in the future", "until")
        if until - now > MAX_SILENCE:
            raise IncidentError("a check can be silenced for at most 30 days", "until")
    before = {"silenced_until": check.silenced_until}
    check.silenced_until = until
    record(actor, "check.silence" if until else "check.unsilence", "check", check.slug, before=before,
           after={"silenced_until": until})
    db.session.commit()
    return check
