"""Quorum math, table-driven: the pure decision, then the same table through the database on SQLite and
PostgreSQL (per-location states written by the real recording path, decided by the real service)."""

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from checks.quorum import LocationView, decide, majority
from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check, Component, ProbeLocation
from statuspage.services.monitoring.locations import sweep_locations

from .helpers import apply_three, post, probe_tokens, result

# (local, eu-west, us-east) as seen by each location — "stale" means the agent stopped reporting,
# "-" means the location never ran the check; quorum; expected check status; delayed; partial locations.
TABLE = [
    (("up", "up", "up"), 2, "up", False, []),
    (("up", "down", "up"), 2, "up", False, ["eu-west"]),
    (("down", "down", "up"), 2, "down", False, []),
    (("down", "down", "down"), 2, "down", False, []),
    (("up", "degraded", "down"), 2, "degraded", False, []),
    (("degraded", "degraded", "up"), 2, "degraded", False, []),
    (("down", "degraded", "up"), 2, "degraded", False, []),
    (("down", "down", "degraded"), 2, "down", False, ["us-east"]),
    (("down", "stale", "stale"), 2, "unknown", True, ["local"]),
    (("up", "stale", "stale"), 2, "unknown", True, []),
    (("down", "down", "stale"), 2, "down", False, []),
    (("up", "down", "stale"), 2, "up", False, ["eu-west"]),
    (("up", "up", "-"), 3, "unknown", True, []),
    (("down", "up", "up"), 1, "down", False, []),
    (("up", "up", "down"), 3, "up", False, ["us-east"]),
    (("down", "down", "down"), 3, "down", False, []),
    (("stale", "stale", "stale"), 1, "unknown", True, []),
]
NAMES = ("local", "eu-west", "us-east")


def _views(seen):
    return [LocationView(name, "unknown" if s in ("stale", "-") else s, fresh=s != "stale")
            for name, s in zip(NAMES, seen, strict=True)]


@pytest.mark.parametrize(("seen", "quorum", "status", "delayed", "partial"), TABLE)
def test_the_decision(seen, quorum, status, delayed, partial):
    d = decide(_views(seen), quorum)
    assert (d.status, d.delayed, [v.name for v in d.partial]) == (status, delayed, partial)
    assert d.reason


def test_the_default_quorum_is_a_majority():
    assert [majority(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]
    assert decide(_views(("down", "down", "up"))).status == "down"
    assert decide(_views(("down", "up", "up"))).status == "up"


def test_a_stale_location_never_counts_as_down_or_up():
    d = decide(_views(("up", "stale", "stale")), 2)
    assert d.status == "unknown" and "eu-west, us-east have not reported in time" in d.reason


@pytest.mark.parametrize(("seen", "quorum", "status", "delayed", "partial"), TABLE)
def test_the_same_table_through_the_database(app, client, seen, quorum, status, delayed, partial):
    apply_three(check_extra=f"quorum: {quorum}")
    tokens = probe_tokens("eu-west", "us-east")
    check = db.session.scalar(select(Check).where(Check.slug == "api-health"))
    start = utcnow().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        for name, s in zip(NAMES, seen, strict=True):
            if s == "-":
                continue
            outcome = "up" if s == "stale" else s
            if name == "local":
                _record_local(check, start, outcome)
            else:
                assert post(client, name, tokens[name], [result(check.id, start, outcome)]).status_code == 200
    stale = [n for n, s in zip(NAMES, seen, strict=True) if s == "stale"]
    later = start + dt.timedelta(seconds=20)
    if stale:
        # Time passes beyond every staleness limit; fresh locations keep reporting, stale ones do not.
        later = start + dt.timedelta(seconds=200)
        with time_machine.travel(later, tick=False):
            for name, s in zip(NAMES, seen, strict=True):
                if s in ("stale", "-"):
                    continue
                if name == "local":
                    _record_local(check, later, s)
                else:
                    post(client, name, tokens[name], [result(check.id, later, s)])
    with time_machine.travel(later, tick=False):
        sweep_locations()
    db.session.expire_all()
    check = db.session.get(Check, check.id)
    assert (check.status, check.monitoring_delayed) == (status, delayed), check.status_reason
    assert [p["location"] for p in check.partial_failures or []] == partial
    comp = db.session.scalar(select(Component).where(Component.slug == "api"))
    expected = {"down": "major_outage", "degraded": "degraded_performance"}.get(status, "operational")
    assert comp.status == expected
    if stale:
        # Agents are stale as a whole (on-call is told); the local worker's own silence is the watchdog's.
        assert all(db.session.scalar(select(ProbeLocation).where(ProbeLocation.slug == n)).stale_since
                   for n in stale if n != "local")


def _record_local(check: Check, at: dt.datetime, outcome: str) -> None:
    """The local worker's run, through the worker's own recording path."""
    from checks.result import ProbeResult
    from statuspage.services.monitoring.claims import claim_due_checks
    from statuspage.services.monitoring.results import record_results

    db.session.execute(Check.__table__.update().where(Check.id == check.id).values(next_run_at=at))
    db.session.commit()
    claimed = claim_due_checks("w1", at, lookahead=0)
    assert [c.id for c in claimed] == [check.id]
    claimed[0].started_at = at
    record_results("w1", [(claimed[0], ProbeResult(outcome=outcome, latency_ms=5.0, checked_at=at,
                                                   message="ok" if outcome == "up" else "boom"))], now=at)
