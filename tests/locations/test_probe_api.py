"""The probe agents' API over the real app: token scope, partial batches, exactly-once by (check, slot, location)."""

import datetime as dt

from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check, CheckLocation, CheckResult, Component
from statuspage.services.audit import Actor
from statuspage.services.users import create_token, revoke_token

from .helpers import apply_three, post, probe_tokens, result


def _check() -> Check:
    db.session.expire_all()
    return db.session.scalar(select(Check).where(Check.slug == "api-health"))


def test_an_agent_reads_only_its_locations_checks(app, client):
    apply_three()
    tokens = probe_tokens("eu-west")
    resp = client.get("/api/v1/probe/eu-west/checks", headers={"Authorization": f"Bearer {tokens['eu-west']}"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["location"] == "eu-west" and body["stale_after_seconds"] == 60
    assert [c["slug"] for c in body["checks"]] == ["api-health"]
    assert body["checks"][0]["spec"]["url"] == "http://127.0.0.1:9/health"


def test_a_probe_token_opens_nothing_else_and_never_another_location(app, client):
    apply_three()
    tokens = probe_tokens("eu-west")
    auth = {"Authorization": f"Bearer {tokens['eu-west']}"}
    other = client.get("/api/v1/probe/us-east/checks", headers=auth)
    assert other.status_code == 403 and "eu-west" in other.get_json()["error"]["message"]
    posted = post(client, "us-east", tokens["eu-west"], [result(_check().id, utcnow())])
    assert posted.status_code == 403
    assert db.session.scalar(select(CheckLocation)) is None
    for url in ("/api/v1/components", "/api/v1/checks", "/api/v1/accounts", "/api/v1/incidents",
                "/api/statuspage/v1/pages"):
        resp = client.get(url, headers=auth)
        assert resp.status_code == 401, url
        assert resp.is_json
    # A management token does not open the probe API either.
    _, read = create_token("reader", "read")
    _, write = create_token("writer", "write")
    for plaintext in (read, write):
        resp = client.get("/api/v1/probe/eu-west/checks", headers={"Authorization": f"Bearer {plaintext}"})
        assert resp.status_code == 403 and "probe token" in resp.get_json()["error"]["message"]
    assert client.get("/api/v1/probe/eu-west/checks").status_code == 401


def test_a_revoked_probe_token_is_refused(app, client):
    apply_three()
    token, plaintext = create_token("agent", "probe", location="eu-west")
    revoke_token(token, actor=Actor.cli())
    resp = client.get("/api/v1/probe/eu-west/checks", headers={"Authorization": f"Bearer {plaintext}"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


def test_a_replayed_batch_counts_nothing_twice(app, client):
    apply_three()
    tokens = probe_tokens("eu-west")
    cid = _check().id
    t0 = utcnow().replace(microsecond=0) - dt.timedelta(minutes=5)
    batch = [result(cid, t0 + dt.timedelta(seconds=30 * i), "down") for i in range(3)]
    first = post(client, "eu-west", tokens["eu-west"], batch)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    again = post(client, "eu-west", tokens["eu-west"], batch)
    assert again.get_json() == {"accepted": 0, "duplicates": 3, "rejected": []}
    rows = db.session.scalars(select(CheckResult).where(CheckResult.location == "eu-west")).all()
    assert len(rows) == 3
    cl = db.session.scalar(select(CheckLocation).where(CheckLocation.location == "eu-west"))
    assert cl.status == "down" and cl.state["consecutive_failures"] == 3


def test_a_partly_bad_batch_keeps_its_good_rows_and_names_the_bad(app, client):
    apply_three()
    tokens = probe_tokens("eu-west")
    cid = _check().id
    now = utcnow().replace(microsecond=0)
    batch = [
        result(cid, now - dt.timedelta(seconds=60)),
        result(cid, now - dt.timedelta(seconds=30), "sideways"),
        {"check_id": "x", "slot": "yesterday"},
        result(999999, now - dt.timedelta(seconds=30)),
        result(cid, now),
    ]
    resp = post(client, "eu-west", tokens["eu-west"], batch)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3]
    assert body["rejected"][0]["field"] == "results[1].outcome"
    assert "999999" in body["rejected"][2]["message"]
    assert body["error"]["code"] == "validation_failed"
    cl = db.session.scalar(select(CheckLocation).where(CheckLocation.location == "eu-west"))
    assert cl.status == "up" and cl.last_slot is not None


def test_malformed_bodies_answer_4xx_with_a_json_error(app, client):
    apply_three()
    tokens = probe_tokens("eu-west")
    auth = {"Authorization": f"Bearer {tokens['eu-west']}"}
    cases = [
        (b"not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'{"results": 5}', "application/json", 400),
        (b'{"results": [], "extra": 1}', "application/json", 400),
        (b'{"results": []}', "text/plain", 415),
    ]
    for data, ctype, status in cases:
        resp = client.post("/api/v1/probe/eu-west/results", data=data, content_type=ctype, headers=auth)
        assert resp.status_code == status, (data, resp.get_data())
        assert resp.get_json()["error"]["message"]
    big = {"results": [{"check_id": 1}] * 1001}
    resp = client.post("/api/v1/probe/eu-west/results", json=big, headers=auth)
    assert resp.status_code == 413
    assert db.session.scalar(select(CheckLocation)) is None


def test_a_heartbeat_records_the_agent(app, client):
    from statuspage.models import ProbeLocation

    apply_three()
    tokens = probe_tokens("eu-west")
    resp = post(client, "eu-west", tokens["eu-west"], [],
                agent={"version": "9.9", "buffer_depth": 42, "hostname": "probe-eu-1", "dropped": 0})
    assert resp.status_code == 200
    loc = db.session.scalar(select(ProbeLocation).where(ProbeLocation.slug == "eu-west"))
    assert (loc.agent_version, loc.buffer_depth, loc.agent_host) == ("9.9", 42, "probe-eu-1")
    assert loc.last_report_at is not None


def test_one_location_failing_below_quorum_changes_nothing_public(app, client):
    apply_three()
    tokens = probe_tokens("eu-west", "us-east")
    cid = _check().id
    now = utcnow().replace(microsecond=0)
    post(client, "us-east", tokens["us-east"], [result(cid, now)])
    post(client, "eu-west", tokens["eu-west"], [result(cid, now, "down")])
    check = _check()
    assert check.status == "up"
    assert [p["location"] for p in check.partial_failures] == ["eu-west"]
    assert "eu-west" in check.status_reason
    comp = db.session.scalar(select(Component).where(Component.slug == "api"))
    assert comp.status == "operational"
    post(client, "us-east", tokens["us-east"], [result(cid, now + dt.timedelta(seconds=30), "down")])
    assert _check().status == "down"
    db.session.expire_all()
    comp = db.session.scalar(select(Component).where(Component.slug == "api"))
    assert comp.status == "major_outage"


def test_a_check_moved_back_to_the_local_worker_alone_forgets_the_quorums_verdict(app, client):
    from tests.monitor.helpers import apply_yaml, one_component

    apply_three()
    db.session.execute(Check.__table__.update().values(
        monitoring_delayed=True, status_reason="only 0 of 3 locations fresh",
        partial_failures=[{"location": "eu-west", "status": "down", "since": None, "message": "x"}]))
    db.session.commit()
    apply_yaml(one_component("http://127.0.0.1:9/health"))
    check = _check()
    assert (check.monitoring_delayed, check.partial_failures, check.status_reason, check.locations) == (
        False, None, None, [])
    assert check.probe_local and check.next_run_at is not None


def test_two_workers_sweeping_at_once_tell_on_call_once(app, client):
    import time_machine

    from statuspage.models import OutboxMessage, ProbeLocation
    from statuspage.services.monitoring.locations import sweep_locations

    apply_three()
    tokens = probe_tokens("eu-west")
    start = utcnow().replace(microsecond=0)
    with time_machine.travel(start, tick=False):
        post(client, "eu-west", tokens["eu-west"], [result(_check().id, start)])
    with time_machine.travel(start + dt.timedelta(seconds=90), tick=False):
        sweep_locations()
        # The other worker read the location before this one marked it stale, and sweeps a second later.
        db.session.execute(ProbeLocation.__table__.update().where(ProbeLocation.slug == "eu-west")
                           .values(stale_since=None))
        db.session.commit()
    with time_machine.travel(start + dt.timedelta(seconds=91), tick=False):
        sweep_locations()
    mails = [m for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "oncall_alert"))
             if "eu-west" in m.payload["component_name"]]
    assert [m.payload["status"] for m in mails] == ["location_stale"]
    assert "has not reported since" in mails[0].payload["result"]["message"]
