"""Claims are exactly-once: a claimed slot cannot be claimed again, missed slots are skipped."""

import datetime as dt

from sqlalchemy import func, select

from checks.result import ProbeResult
from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check, CheckResult
from statuspage.services.monitoring.claims import claim_due_checks, release_claims
from statuspage.services.monitoring.results import record_results
from statuspage.services.monitoring.schedule import next_slot_after

from .helpers import apply_yaml

MANY = "page: {name: A}\ncomponents:\n  - id: c\n    name: C\n    checks:\n" + "".join(
    f"      - {{id: chk-{i}, kind: tcp, host: 127.0.0.1, port: 9, interval: 60s}}\n" for i in range(40))


def test_a_due_check_is_claimed_once(app):
    apply_yaml(MANY)
    later = utcnow() + dt.timedelta(seconds=61)
    first = claim_due_checks("w1", later, lookahead=0)
    second = claim_due_checks("w2", later, lookahead=0)
    assert len(first) == 40 and second == []
    row = db.session.scalar(select(Check).where(Check.slug == "chk-0"))
    assert row.claimed_by == "w1" and row.next_run_at > later


def test_start_times_are_spread_over_the_interval(app):
    apply_yaml(MANY)
    slots = db.session.scalars(select(Check.next_run_at)).all()
    seconds = sorted(s.timestamp() % 60 for s in slots)
    # 40 checks over 60 s: no second holds more than a few of them
    buckets = [int(s) for s in seconds]
    assert max(buckets.count(b) for b in set(buckets)) <= 4


def test_missed_slots_are_skipped_not_piled_up(app):
    apply_yaml(MANY)
    hour_later = utcnow() + dt.timedelta(hours=1)
    claimed = claim_due_checks("w1", hour_later, lookahead=0)
    results = [(c, ProbeResult(outcome="up", latency_ms=1.0)) for c in claimed]
    record_results("w1", results, hour_later)
    # one run per check for the missed hour, and the next slot is in the future
    assert db.session.scalar(select(func.count()).select_from(CheckResult)) == 40
    assert claim_due_checks("w1", hour_later, lookahead=0) == []
    nxt = db.session.scalar(select(Check.next_run_at).where(Check.slug == "chk-3"))
    assert hour_later < nxt <= hour_later + dt.timedelta(seconds=60)
    assert nxt == next_slot_after("chk-3", 60, hour_later)


def test_a_dead_workers_claim_is_taken_over_after_its_lease(app):
    apply_yaml(MANY)
    t = utcnow() + dt.timedelta(seconds=61)
    assert len(claim_due_checks("dead", t, lookahead=0)) == 40
    assert claim_due_checks("alive", t + dt.timedelta(seconds=10), lookahead=0) == []
    taken = claim_due_checks("alive", t + dt.timedelta(seconds=5 + 2 * 10 + 31), lookahead=0)
    assert len(taken) == 40
    # the dead worker's late results are ignored for the checks it no longer holds
    record_results("dead", [(c, ProbeResult(outcome="down")) for c in taken[:1]], t)
    assert db.session.scalar(select(Check.claimed_by).where(Check.id == taken[0].id)) == "alive"


def test_released_claims_are_due_again_at_their_slot(app):
    apply_yaml(MANY)
    t = utcnow() + dt.timedelta(seconds=61)
    claimed = claim_due_checks("w1", t, lookahead=0)
    release_claims("w1", claimed)
    assert len(claim_due_checks("w2", t, lookahead=0)) == 40


def test_the_result_of_a_slot_is_written_once(app):
    apply_yaml(MANY)
    t = utcnow() + dt.timedelta(seconds=61)
    claimed = claim_due_checks("w1", t, lookahead=0)[:1]
    record_results("w1", [(claimed[0], ProbeResult(outcome="up"))], t)
    claimed[0].state = {}
    # a duplicate write of the same (check, slot) is ignored by the unique key
    from statuspage.db import insert_ignore
    from statuspage.services.monitoring.results import RESULT_TABLE

    db.session.execute(insert_ignore(RESULT_TABLE).on_conflict_do_nothing(), [{
        "check_id": claimed[0].id, "scheduled_for": claimed[0].slot, "started_at": t, "outcome": "down"}])
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(CheckResult)) == 1


def test_the_next_slot_after_a_run_started_within_its_slots_millisecond_is_the_following_one():
    # Slots are kept in whole milliseconds; a probe that starts a fraction of a millisecond after its
    # (rounded-down) slot must get the next slot, not the same one again.
    import datetime as dt

    for key in (f"chk-{i}" for i in range(200)):
        slot = next_slot_after(key, 5, dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC))
        for fraction_us in (0, 100, 400, 999):
            started = slot + dt.timedelta(microseconds=fraction_us)
            assert next_slot_after(key, 5, started) == slot + dt.timedelta(seconds=5), (key, fraction_us)
