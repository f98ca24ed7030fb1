"""Claims: two workers never get the same row; a dead worker's rows come back after its lease."""

import datetime as dt
import threading

import time_machine

from statuspage.extensions import db
from statuspage.models import OutboxMessage
from statuspage.services.outbox import claim_batch
from tests.notify import factories as f


def test_concurrent_claims_are_disjoint_and_cover_everything(app):
    f.page()
    api = f.component("api")
    f.many_subscribers(300)
    f.incident("Outage", [api])
    got: dict[str, list[int]] = {"a": [], "b": [], "c": []}

    def worker(name: str) -> None:
        with app.app_context():
            while True:
                ids = claim_batch(name, 25)
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
    f.page()
    api = f.component("api")
    f.many_subscribers(10)
    f.incident("Outage", [api])
    ids = claim_batch("dead-worker", 100, lease_seconds=60)
    assert len(ids) == 10
    assert claim_batch("other", 100) == []  # leased
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=61)):
        again = claim_batch("other", 100)
    assert sorted(again) == sorted(ids)
    db.session.expire_all()
    assert {r.claimed_by for r in db.session.query(OutboxMessage)} == {"other"}
