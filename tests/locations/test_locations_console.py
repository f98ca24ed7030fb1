"""What an operator sees of probe locations in the console: /admin/locations after agents posted through the
real probe API, a stale agent, probe tokens made (and shown once) on the page, a check's per-location table."""

import datetime as dt

from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import ApiToken, Check, ProbeLocation
from tests.support.console import csrf_from, login

from .helpers import apply_three, post, probe_tokens, result


def _check() -> Check:
    db.session.expire_all()
    return db.session.scalar(select(Check).where(Check.slug == "api-health"))


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _row(html: str, location: str) -> str:
    start = html.index(f'data-location="{location}"')
    return html[start:html.index("</tr>", start)]


def _below_quorum(client) -> dict[str, str]:
    """eu-west sees the check down, us-east up: the quorum (2 of 3) keeps it up, eu-west is a partial failure."""
    apply_three()
    tokens = probe_tokens("eu-west", "us-east")
    cid = _check().id
    slot = utcnow().replace(microsecond=0) - dt.timedelta(seconds=20)
    agent = {"version": "1.4.2", "hostname": "probe-fra-1", "buffer_depth": 3, "dropped": 2,
             "oldest_buffered_at": (slot - dt.timedelta(seconds=40)).isoformat()}
    assert post(client, "eu-west", tokens["eu-west"], [result(cid, slot, "down")], agent).status_code == 200
    ok = post(client, "us-east", tokens["us-east"], [result(cid, slot, "up", latency_ms=40.0),
                                                      result(cid, slot + dt.timedelta(seconds=1), "up",
                                                             latency_ms=80.0)],
              {"version": "1.4.1", "hostname": "probe-iad-1", "buffer_depth": 0})
    assert ok.status_code == 200, ok.get_json()
    return tokens


def test_the_page_lists_each_agent_with_its_figures_after_it_posted(app, client):
    _below_quorum(client)
    login(client, "viewer")
    resp = client.get("/admin/locations")
    assert resp.status_code == 200
    html = _text(resp)
    eu = _row(html, "eu-west")
    assert "Frankfurt" in eu and "fresh" in eu and "1.4.2" in eu and "probe-fra-1" in eu
    assert "127.0.0.1" in eu  # the address it posted from
    assert "2 dropped" in eu and "<td>3<br>" in eu and "oldest" in eu  # buffer depth, oldest buffered, dropped
    assert "s ago" in eu and "s</td>" in eu  # last report, lag
    us = _row(html, "us-east")
    assert "Virginia" in us and "1.4.1" in us and "probe-iad-1" in us
    assert ">2</td>" in us  # two results received
    local = _row(html, "local")
    assert "this install" in local and "never reported" in local  # no worker has run in this test
    # A viewer reads the page but is offered no token form and no revoke button.
    assert "Create a probe token" not in html and "Revoke" not in html
    assert 'href="/admin/locations"' in html and 'aria-current="page"' in html


def test_a_silent_agent_shows_stale_since(app, client):
    _below_quorum(client)
    loc = db.session.scalar(select(ProbeLocation).where(ProbeLocation.slug == "us-east"))
    loc.last_report_at = utcnow() - dt.timedelta(minutes=10)
    db.session.commit()
    login(client, "viewer")
    us = _row(_text(client.get("/admin/locations")), "us-east")
    assert "stale" in us and "since" in us
    assert "fresh" not in us


def test_an_admin_makes_a_probe_token_shown_once_that_opens_its_locations_checks(app, client):
    apply_three()
    login(client, "admin")
    page = _text(client.get("/admin/locations"))
    assert "Create a probe token" in page
    resp = client.post("/admin/locations/tokens", data={"csrf_token": csrf_from(page), "location": "eu-west",
                                                        "name": ""})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    html = _text(resp)
    assert "will not be shown again" in html
    plaintext = html.split('id="plaintext" class="token-plaintext" value="')[1].split('"')[0]
    assert plaintext.startswith("sp_")
    token = db.session.scalar(select(ApiToken).where(ApiToken.scope == "probe"))
    assert token.location == "eu-west" and token.name == "probe agent eu-west"
    # Listed with its scope and location; the plaintext is gone on the next visit.
    again = _text(client.get("/admin/locations"))
    assert plaintext not in again and f'data-token="{token.id}"' in again and "<code>eu-west</code>" in again
    tokens_page = _text(client.get("/admin/tokens"))
    assert "probe" in tokens_page and "eu-west" in tokens_page
    # The token works against the agent API of its location.
    checks = client.get("/api/v1/probe/eu-west/checks", headers={"Authorization": f"Bearer {plaintext}"})
    assert checks.status_code == 200 and [c["slug"] for c in checks.get_json()["checks"]] == ["api-health"]
    # And the existing revoke flow ends it, back on this page.
    revoked = client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf_from(again),
                                                                     "back": "locations"})
    assert revoked.status_code == 303 and revoked.headers["Location"].endswith("/admin/locations")
    assert client.get("/api/v1/probe/eu-west/checks",
                      headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401


def test_a_bad_location_re_renders_the_form_in_its_own_words(app, client):
    apply_three()
    login(client, "admin")
    page = _text(client.get("/admin/locations"))
    resp = client.post("/admin/locations/tokens", data={"csrf_token": csrf_from(page), "location": "EU West!",
                                                        "name": "fra agent"})
    assert resp.status_code == 422
    html = _text(resp)
    assert "Location" in html and "lowercase letters" in html
    assert 'value="EU West!"' in html and 'value="fra agent"' in html and 'aria-invalid="true"' in html
    assert "will not be shown again" not in html
    assert db.session.scalar(select(ApiToken)) is None


def test_a_viewer_cannot_make_probe_tokens(app, client):
    apply_three()
    login(client, "viewer")
    page = _text(client.get("/admin/locations"))
    resp = client.post("/admin/locations/tokens", data={"csrf_token": csrf_from(page), "location": "eu-west"})
    assert resp.status_code == 403
    assert db.session.scalar(select(ApiToken)) is None


def test_the_check_page_shows_each_location_and_the_below_quorum_callout(app, client):
    _below_quorum(client)
    check = _check()
    assert check.status == "up" and check.partial_failures
    login(client, "viewer")
    html = _text(client.get("/admin/checks/api-health"))
    assert "Below quorum" in html
    callout = html[html.index("Below quorum"):]
    assert "eu-west" in callout[:1500] and "since" in callout[:1500]
    assert check.status_reason in html
    eu = _row(html, "eu-west")
    assert "down" in eu and "fresh" in eu and "[STATUS] (503)" in eu
    us = _row(html, "us-east")
    assert "badge-check-up" in us and "40 / 80 ms" in us  # p50 / p95 of its two runs
    local = _row(html, "local")
    assert "unknown" in local
    # The dashboard marks the check: up, but failing from somewhere.
    dash = _text(client.get("/admin/"))
    assert "failing from eu-west (below quorum)" in dash


def test_the_dashboard_says_when_too_few_locations_are_fresh(app, client):
    _below_quorum(client)
    for slug in ("us-east", "eu-west"):
        loc = db.session.scalar(select(ProbeLocation).where(ProbeLocation.slug == slug))
        loc.last_report_at = utcnow() - dt.timedelta(minutes=10)
    db.session.commit()
    from statuspage.services.monitoring.locations import sweep_locations

    sweep_locations()
    check = _check()
    assert check.monitoring_delayed and check.status == "unknown"
    login(client, "viewer")
    dash = _text(client.get("/admin/"))
    assert "monitoring data delayed: only 0 of 3 locations fresh" in dash
    html = _text(client.get("/admin/checks/api-health"))
    assert "monitoring data delayed" in html.lower()
