"""Subscribe, manage and console outbox pages in Chromium: usable without JS, labelled, screenshotted."""

import pytest
from playwright.sync_api import expect

from statuspage.extensions import db
from statuspage.services.notifications import tokens as subs
from tests.support import factories as f

pytestmark = pytest.mark.browser


def test_subscribe_form_and_preferences_in_a_browser(app, live_server, page, screenshot):
    f.page(name="Acme Cloud", public_id="acmepage")
    f.component("Public API", "api")
    f.component("Database", "db", position=1)
    page.goto(live_server.url + "/subscribe")
    screenshot("subscribe-form")
    page.get_by_label("Email address").fill("ops@customer.test")
    page.get_by_label("Public API").check()
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    screenshot("subscribe-done")

    sub = f.subscriber("manage@customer.test")
    manage = subs.make_token(sub.id, 1, "manage")
    unsubscribe = subs.make_token(sub.id, 1, "unsubscribe")
    db.session.commit()  # reading sub.id began a transaction: end it, or SQLite's write lock stays here
    page.goto(live_server.url + "/subscribe/manage/" + manage)
    page.get_by_label("Only these components:").check()
    page.get_by_label("Database").check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
    screenshot("subscribe-manage")
    page.goto(live_server.url + "/unsubscribe/" + unsubscribe)
    screenshot("unsubscribe-confirm")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(type(sub), sub.id).unsubscribed_at is not None
