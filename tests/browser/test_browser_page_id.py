"""An admin finds the page id and the Statuspage-compatible API's base URL on the dashboard and the tokens
page, on a wide screen and a phone; axe-core finds nothing serious."""

import pytest
from playwright.sync_api import expect

from statuspage.extensions import db
from statuspage.services.page import get_page
from tests.browser.test_browser_trust_page import axe_violations
from tests.support.factories import PASSWORD, make_components, user

pytestmark = pytest.mark.browser


def test_an_admin_finds_the_page_id_for_statuspage_clients(app, live_server, page, screenshot):
    make_components("api", "web")
    email = user("admin", "admin@acme.test").email
    page_id = get_page().public_id
    db.session.commit()  # SQLite has one writer: the live server needs it

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/admin/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    section = page.get_by_role("region", name="This page")
    expect(section).to_contain_text(page_id)
    expect(section).to_contain_text(f"/api/statuspage/v1/pages/{page_id}")
    assert axe_violations(page) == []
    screenshot("page-id-dashboard-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    section.scroll_into_view_if_needed()
    box = section.bounding_box()
    assert box is not None and box["width"] <= 390  # the long URL wraps instead of widening the page
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot("page-id-dashboard-390")

    page.goto(live_server.url + "/admin/tokens")
    expect(page.get_by_text(f"/api/statuspage/v1/pages/{page_id}")).to_be_visible()
    screenshot("page-id-tokens-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot("page-id-tokens-1280")
