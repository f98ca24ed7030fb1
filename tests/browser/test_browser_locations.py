"""Probe locations in Chromium: /admin/locations and a multi-location check's page at desk and phone widths
(screenshots under test-results/screenshots/), a probe token made through the form, axe-core clean."""

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import ProbeLocation
from tests.browser.test_browser_trust_page import axe_violations
from tests.locations.test_locations_console import _below_quorum
from tests.support import factories as f

pytestmark = pytest.mark.browser


def test_an_admin_reads_locations_and_a_checks_locations_in_a_browser(app, client, live_server, page, screenshot):
    _below_quorum(client)
    # A third agent that went quiet ten minutes ago.
    loc = db.session.scalar(select(ProbeLocation).where(ProbeLocation.slug == "us-east"))
    loc.last_report_at = loc.last_report_at - dt.timedelta(minutes=10)
    f.user("admin", "ada@acme.test")
    db.session.commit()

    page.goto(live_server.url + "/admin/")
    page.get_by_label("Email").fill("ada@acme.test")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("failing from eu-west (below quorum)").first).to_be_visible()

    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + "/admin/locations")
        expect(page.get_by_role("heading", name="Probe locations")).to_be_visible()
        expect(page.locator('tr[data-location="us-east"]')).to_contain_text("stale")
        expect(page.locator('tr[data-location="eu-west"]')).to_contain_text("probe-fra-1")
        assert axe_violations(page) == [], f"/admin/locations at {width}"
        screenshot(f"admin-locations-{width}")
        page.goto(live_server.url + "/admin/checks/api-health")
        expect(page.get_by_role("heading", name="Below quorum")).to_be_visible()
        expect(page.locator('tr[data-location="us-east"]')).to_contain_text("40 / 80 ms")
        assert axe_violations(page) == [], f"check page at {width}"
        screenshot(f"admin-check-locations-{width}")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/admin/locations")
    page.get_by_role("combobox", name="Location").fill("ap-south")
    page.get_by_role("button", name="Create probe token").click()
    expect(page.get_by_role("heading", name="Probe token for ap-south created")).to_be_visible()
    token = page.get_by_label("New probe token").input_value()
    assert token.startswith("sp_")
    screenshot("admin-locations-token-created")
    resp = client.get("/api/v1/probe/ap-south/checks", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
