"""Probe locations through /api/v1 and /metrics: the same figures the console shows, after agents posted
through the real probe API."""

import datetime as dt

from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import ProbeLocation
from statuspage.services.users import create_token

from .test_locations_console import _below_quorum


def _read(client, url, token):
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def test_the_api_lists_locations_paged_with_their_figures(app, client):
    _below_quorum(client)
    _, token = create_token("reader", "read")
    resp = _read(client, "/api/v1/locations", token)
    assert resp.status_code == 200 and resp.headers["X-Total-Count"] == "3"
    rows = {r["id"]: r for r in resp.get_json()}
    assert list(rows) == ["local", "eu-west", "us-east"]
    eu = rows["eu-west"]
    assert eu["state"] == "fresh" and not eu["stale"] and eu["name"] == "Frankfurt"
    assert eu["agent_version"] == "1.4.2" and eu["agent_host"] == "probe-fra-1" and eu["agent_address"] == "127.0.0.1"
    assert eu["buffer_depth"] == 3 and eu["dropped"] == 2 and eu["oldest_buffered_at"].endswith("Z")
    assert eu["checks_assigned"] == 1 and eu["results_received"] == 1 and eu["lag_seconds"] >= 19
    assert rows["us-east"]["results_received"] == 2
    assert rows["local"]["local"] and rows["local"]["state"] == "never"
    page = _read(client, "/api/v1/locations?per_page=1&page=2", token)
    assert [r["id"] for r in page.get_json()] == ["eu-west"] and 'rel="next"' in page.headers["Link"]
    one = _read(client, "/api/v1/locations/us-east", token)
    assert one.status_code == 200 and one.get_json()["agent_version"] == "1.4.1"
    missing = _read(client, "/api/v1/locations/nowhere", token)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/locations").status_code == 401
    assert _read(client, "/api/v1/locations?bogus=1", token).status_code == 400


def test_a_stale_location_is_stale_in_the_api(app, client):
    _below_quorum(client)
    loc = db.session.scalar(select(ProbeLocation).where(ProbeLocation.slug == "us-east"))
    reported = loc.last_report_at = loc.last_report_at - dt.timedelta(minutes=10)
    db.session.commit()
    _, token = create_token("reader", "read")
    body = _read(client, "/api/v1/locations/us-east", token).get_json()
    assert body["state"] == "stale" and body["stale"]
    assert body["stale_since"] == (reported + dt.timedelta(seconds=60)).isoformat().replace("+00:00", "Z")
    assert body["last_report_age_seconds"] >= 600


def test_a_check_carries_each_location_and_the_quorum(app, client):
    _below_quorum(client)
    _, token = create_token("reader", "read")
    body = _read(client, "/api/v1/checks/api-health", token).get_json()
    assert body["state"] == "up" and body["quorum"] == 2 and body["monitoring_delayed"] is False
    assert "eu-west sees it failing (below quorum 2)" in body["status_reason"]
    assert [p["location"] for p in body["partial_failures"]] == ["eu-west"]
    assert body["partial_failures"][0]["status"] == "down" and body["partial_failures"][0]["since"]
    by = {row["location"]: row for row in body["locations"]}
    assert list(by) == ["local", "eu-west", "us-east"]
    assert by["eu-west"]["status"] == "down" and by["eu-west"]["fresh"] and "503" in by["eu-west"]["message"]
    assert by["us-east"]["latency_p50_ms"] == 40.0 and by["us-east"]["latency_p95_ms"] == 80.0
    assert by["local"]["status"] == "unknown" and by["local"]["last_run_at"] is None
    # The list carries the quorum's fields too (not the per-location rows).
    listed = _read(client, "/api/v1/checks", token).get_json()[0]
    assert listed["quorum"] == 2 and listed["partial_failures"] and "locations" not in listed


def test_every_api_v1_route_is_in_the_openapi_document(app, client):
    documented = set(client.get("/api/v1/openapi.json").get_json()["paths"])
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
        if not path.startswith("/api/v1/") or path == "/api/v1/openapi.json":
            continue
        if path.startswith("/api/v1/probe/"):
            continue  # the agents' own API (probe tokens only), described in statuspage/web/api/v1/probe.py
        assert path in documented, path
    assert {"/api/v1/locations", "/api/v1/locations/{slug}"} <= documented


def test_metrics_carry_each_location_and_each_checks_view(app, client):
    _below_quorum(client)
    loc = db.session.scalar(select(ProbeLocation).where(ProbeLocation.slug == "us-east"))
    loc.last_report_at = loc.last_report_at - dt.timedelta(minutes=10)
    db.session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
             if line.startswith("statuspage_probe_location") or line.startswith("statuspage_check_")}
    assert lines['statuspage_probe_location_stale{location="eu-west"}'] == 0
    assert lines['statuspage_probe_location_stale{location="us-east"}'] == 1
    assert lines['statuspage_probe_location_stale{location="local"}'] == 1  # no worker ran checks here
    assert lines['statuspage_probe_location_last_report_age_seconds{location="us-east"}'] >= 600
    assert lines['statuspage_probe_location_buffer_depth{location="eu-west"}'] == 3
    assert lines['statuspage_probe_location_dropped{location="eu-west"}'] == 2
    assert lines['statuspage_probe_location_lag_seconds{location="eu-west"}'] >= 19
    assert lines['statuspage_probe_location_checks_assigned{location="us-east"}'] == 1
    assert lines['statuspage_probe_location_results_received_total{location="us-east"}'] == 2
    assert lines['statuspage_check_location_up{check="api-health",location="eu-west"}'] == 0
    assert lines['statuspage_check_location_up{check="api-health",location="us-east"}'] == 1
    assert 'statuspage_check_location_up{check="api-health",location="local"}' not in lines  # no result yet
    assert lines['statuspage_check_location_fresh{check="api-health",location="us-east"}'] == 0
    assert lines['statuspage_check_location_below_quorum{check="api-health",location="eu-west"}'] == 1
    assert 'statuspage_check_monitoring_delayed{check="api-health"}' in lines
