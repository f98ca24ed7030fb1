"""Claims: two workers never get the same row; a dead worker's rows come back after its lease."""

import datetime as dt
import threading

import pytest
import time_machine

from statuspage.extensions import db
from statuspage.models import OutboxMessage
from statuspage.services.notifications.outbox.claim import claim_batch, claim_rows
from tests.support import factories as f


def _claim_ids(name: str, limit: int) -> list[int]:
    return [row["id"] for row in claim_rows(name, limit)]


@pytest.mark.parametrize("claim", [claim_batch, _claim_ids], ids=["claim_batch", "claim_rows"])
def test_concurrent_claims_are_disjoint_and_cover_everything(app, claim):
    """claim_rows is what delivery uses (one statement on PostgreSQL); claim_batch the two-step form."""
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.many_subscribers(300)
    f.announced_incident("Outage", [api])
    got: dict[str, list[int]] = {"a": [], "b": [], "c": []}

    def worker(name: str) -> None:
        with app.app_context():
            while True:
                ids = claim(name, 25)
                if not ids:
                    break
                got[name].extend(ids)
            db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    all_ids = [i for ids in got.values() for i in ids]
    assert len(all_ids) == len(set(all_ids)) == 300


def test_rows_of_a_dead_worker_are_claimable_after_the_lease(app):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.many_subscribers(10)
    f.announced_incident("Outage", [api])
    ids = claim_batch("dead-worker", 100, lease_seconds=60)
    assert len(ids) == 10
    assert claim_batch("other", 100) == []  # leased
    assert claim_rows("other", 100) == []
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61)):
        again = claim_rows("other", 100)
    assert sorted(r["id"] for r in again) == sorted(ids)
    # What rendering needs comes with the claim: the row and its subscriber's state.
    assert {(r["channel"], r["confirmed"], r["unsubscribed"], r["quarantined"]) for r in again} == {
        ("email", True, False, False)}
    db.session.expire_all()
    assert {r.claimed_by for r in db.session.query(OutboxMessage)} == {"other"}
