"""Every public response is a function of the site version: ETag/Last-Modified, 304, render cache."""

import pytest

from statuspage import create_app
from statuspage.extensions import db
from statuspage.services.incidents.status import set_check_status
from statuspage.services.page import bump_site_version
from statuspage.web.public_cache import render_cache

PATHS = ["/", "/history", "/api/v2/summary.json", "/history.atom", "/maintenance.ics", "/badge/api.svg",
         "/components/api"]


@pytest.mark.parametrize("path", PATHS)
def test_it_answers_304_to_a_matching_etag_and_to_if_modified_since(site, client, path):
    first = client.get(path)
    assert first.status_code == 200
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('W/"v')
    assert first.headers["Cache-Control"] == "public, max-age=10, stale-while-revalidate=30"
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    assert client.get(path, headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get(path, headers={"If-None-Match": 'W/"v0-nope"'}).status_code == 200


def test_a_publicly_visible_change_changes_the_etag_and_the_body(site, client):
    before = client.get("/api/v2/status.json")
    set_check_status(site.web, "major_outage")
    db.session.commit()
    after = client.get("/api/v2/status.json", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.json["status"]["indicator"] == "critical"
    assert after.headers["ETag"] != before.headers["ETag"]


def test_a_cached_request_is_served_from_the_render_cache(site, client, monkeypatch):
    from statuspage.web import public

    calls = []
    real = public.render_template
    monkeypatch.setattr(public, "render_template", lambda *a, **k: calls.append(1) or real(*a, **k))
    body = client.get("/history").data
    assert client.get("/history").data == body
    assert calls == [1]
    bump_site_version()
    db.session.commit()
    client.get("/history")
    assert calls == [1, 1]


def test_the_render_cache_is_bounded(app, client):
    app.extensions["statuspage.settings"].render_cache_entries = 3
    app.extensions.pop("statuspage.render_cache", None)
    for n in range(1, 6):
        client.get(f"/history?page={n}")
    assert len(render_cache()) == 3


def test_a_change_is_visible_on_another_replica_at_once(site, app_env):
    """Two app instances (two 'replicas') on one database: no stale page after a change."""
    other = create_app({"TESTING": True}, env=app_env)
    client_a = other.test_client()
    with other.app_context():
        assert client_a.get("/api/v2/status.json").json["status"]["indicator"] == "major"
        assert client_a.get("/api/v2/status.json").json["status"]["indicator"] == "major"  # cached
    # The change happens through "this" replica (the app fixture's context).
    set_check_status(site.web, "major_outage")
    db.session.commit()
    with other.app_context():
        assert client_a.get("/api/v2/status.json").json["status"]["indicator"] == "critical"
        db.session.remove()
    with other.app_context():
        db.engine.dispose()


def test_uptime_pages_key_on_the_current_minute_too(site, client):
    etag = client.get("/").headers["ETag"]
    version, minute, _tag = etag.removeprefix('W/"').rstrip('"').split("-")
    assert version.startswith("v") and minute.isdigit()
    api_etag = client.get("/api/v2/summary.json").headers["ETag"]
    assert api_etag.count("-") == 1
