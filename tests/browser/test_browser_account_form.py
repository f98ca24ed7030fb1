"""An account manager adds a customer account in Chromium: labelled fields, a typo shown next to its
field (and announced), then saved; axe-core finds nothing serious on the form."""

import pytest
from playwright.sync_api import expect

from statuspage.extensions import db
from statuspage.models import Account
from tests.browser.test_browser_trust_page import axe_violations
from tests.support import factories as f

pytestmark = pytest.mark.browser


def test_an_account_manager_adds_an_account_in_a_browser(app, live_server, page, screenshot):
    f.page()
    f.component("Public API", "api")
    f.component("EU region", "eu", position=1)
    f.user("account_manager", "amy@acme.test")
    db.session.commit()  # SQLite has one writer: the live server needs it

    page.goto(live_server.url + "/admin/")
    page.get_by_label("Email").fill("amy@acme.test")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url + "/admin/accounts")
    page.get_by_role("link", name="New account").click()

    page.get_by_label("Account id").fill("ACME-7")
    page.get_by_label("Name", exact=True).fill("Initrode")
    page.get_by_label("ARR (USD)", exact=True).fill("240000")  # the label names the page's currency
    page.get_by_label("SLA target (%)").fill("99.95")
    page.get_by_label("Public API").check()
    page.get_by_label("Contact 1 email").fill("cto@initrode")  # a typo
    page.get_by_label("Contact 1 name").fill("Dana")
    page.get_by_label("Contact 1 notified about").select_option("major")
    screenshot("account-form-filled")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_role("alert")).to_contain_text("The account was not saved")
    expect(page.locator("#err-contacts-0-email")).to_be_visible()
    expect(page.get_by_label("Contact 1 email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Initrode")
    assert axe_violations(page) == []
    screenshot("account-form-error")

    page.get_by_label("Contact 1 email").fill("cto@initrode.test")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Initrode")).to_be_visible()
    expect(page.get_by_text("cto@initrode.test")).to_be_visible()
    screenshot("account-created")
    assert db.session.scalar(db.select(Account.name).where(Account.external_id == "ACME-7")) == "Initrode"
