"""The public page when probe locations go quiet: "Monitoring data delayed", never a stale green or a
false red; and a failure seen from one location below the quorum is never published."""

import datetime as dt

import time_machine
from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check
from statuspage.services.monitoring.locations import sweep_locations

from .helpers import apply_three, post, probe_tokens, record_local, result, text_of

API_ROW = "//li[@data-component='api']"


def _check() -> Check:
    db.session.expire_all()
    return db.session.scalar(select(Check).where(Check.slug == "api-health"))


def _all_up(client, t0: dt.datetime) -> tuple[int, dict[str, str]]:
    apply_three()
    tokens = probe_tokens("eu-west", "us-east")
    cid = _check().id
    record_local(cid, t0)
    for loc in ("eu-west", "us-east"):
        assert post(client, loc, tokens[loc], [result(cid, t0)]).status_code == 200
    assert _check().status == "up"
    return cid, tokens


def test_one_failing_location_below_quorum_is_not_published(app, client):
    t0 = utcnow().replace(microsecond=0) - dt.timedelta(seconds=30)
    cid, tokens = _all_up(client, t0)
    page = client.get("/")  # cached now: the next look must still be right
    assert "Operational" in text_of(page.get_data(as_text=True), API_ROW)

    failing = post(client, "eu-west", tokens["eu-west"], [result(cid, t0 + dt.timedelta(seconds=30), "down")])
    assert failing.status_code == 200
    check = _check()
    assert check.status == "up" and check.partial_failures[0]["location"] == "eu-west"

    html = client.get("/").get_data(as_text=True)
    row = text_of(html, API_ROW)
    assert "Operational" in row and "delayed" not in row.lower()
    everything = text_of(html)
    assert "All Systems Operational" in everything
    assert "eu-west" not in html and "Frankfurt" not in html and "Regional" not in everything
    for url in ("/components/api", "/api/v2/summary.json", "/api/v2/components.json"):
        body = client.get(url).get_data(as_text=True)
        assert "eu-west" not in body and "Frankfurt" not in body, url


def test_silent_agents_make_the_component_say_monitoring_data_delayed(app, client):
    t0 = utcnow().replace(microsecond=0) - dt.timedelta(seconds=5)
    _all_up(client, t0)
    # Both agents silent for 2 minutes (their limit is 60 s); the local worker's last result is still
    # fresh, but one location is fewer than the quorum of 2.
    with time_machine.travel(t0 + dt.timedelta(minutes=2), tick=False):
        # Rendered and cached in this same minute, before the worker's sweep decides again.
        before = client.get("/")
        assert "Operational" in text_of(before.get_data(as_text=True), API_ROW)
        etag = before.headers["ETag"]
        sweep_locations()
        check = _check()
        assert check.status == "unknown" and check.monitoring_delayed

        resp = client.get("/", headers={"If-None-Match": etag})
        assert resp.status_code == 200  # the cached all-clear is not served again
        html = resp.get_data(as_text=True)
        row = text_of(html, API_ROW)
        assert "Monitoring data delayed" in row
        assert "Operational" not in row
        for red in ("Outage", "Degraded"):
            assert red not in row
        banner = text_of(html, "//section[contains(@class,'banner')]")
        assert "Monitoring Data Delayed" in banner and "Public API" in banner
        assert "All Systems Operational" not in banner and "Outage" not in banner
        assert "banner-stale" in html

        comp = text_of(client.get("/components/api").get_data(as_text=True), "//div[@class='page-head']")
        assert "Monitoring data delayed" in comp and "Operational" not in comp

        badge = client.get("/badge/api.svg").get_data(as_text=True)
        assert "monitoring delayed" in badge and "operational" not in badge

        # Statuspage's JSON keeps its vocabulary: the component's status is left as it is (no new
        # value, no new field), and the page indicator is not turned into an outage.
        summary = client.get("/api/v2/summary.json").get_json()
        (api,) = [c for c in summary["components"] if c["id"] and c["name"] == "Public API"]
        assert api["status"] == "operational"
        assert summary["status"]["indicator"] == "none"

    # The agents report again: the component is confirmed operational, and the page says so at once.
    t1 = t0 + dt.timedelta(minutes=2, seconds=30)
    with time_machine.travel(t1, tick=False):
        tokens = probe_tokens("eu-west", "us-east")
        cid = _check().id
        for loc in ("eu-west", "us-east"):
            assert post(client, loc, tokens[loc], [result(cid, t1)]).status_code == 200
        assert not _check().monitoring_delayed
        row = text_of(client.get("/").get_data(as_text=True), API_ROW)
        assert "Operational" in row and "delayed" not in row.lower()
