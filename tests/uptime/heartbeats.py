"""A worker's heartbeat at a frozen instant, for uptime scenarios with checks (no monitoring gap unless
the scenario makes one)."""

from __future__ import annotations

import datetime as dt

from statuspage.extensions import db
from statuspage.models import WorkerHeartbeat
from statuspage.services.recovery import record_heartbeat
from statuspage.services.site import public as public_site


def heartbeat(worker: str, at: dt.datetime) -> None:
    """A worker's heartbeat (services.recovery.record_heartbeat) after it ran checks at ``at``.

    A worker already running kept beating every 5 s until then: its previous beat is set to 5 s earlier,
    as those beats would have left it. A new worker's first beat registers it, the next says how far its
    checks got."""
    row = db.session.get(WorkerHeartbeat, worker)
    if row is not None:
        row.last_checks_at = row.last_seen_at = at - dt.timedelta(seconds=5)
        db.session.commit()
    record_heartbeat(worker, checks_run=1, last_checks_at=at, now=at)
    if row is None:
        record_heartbeat(worker, checks_run=1, last_checks_at=at, now=at)
    public_site._DELAY_MEMO[0] = 0.0  # the banner's 5 s memo, as if it ran out
