"""End to end in Chromium: sign in, declare an incident on two components, update it to resolved, write and
publish a postmortem, and see each step on the public incident page."""

import pytest
from playwright.sync_api import expect

from statuspage.extensions import db
from statuspage.models import Incident
from tests.conftest import SCREENSHOTS
from tests.support.factories import PASSWORD, make_components, user


@pytest.mark.browser
@pytest.mark.slow
def test_an_on_call_engineer_runs_an_incident_from_declaration_to_postmortem(app, live_server, page, screenshot):
    make_components("api", "web", "db")
    email = user("responder", "oncall@acme.test").email
    db.session.commit()  # end the test thread's transaction: SQLite has one writer, the server needs it
    base = live_server.url

    page.goto(base + "/admin/")
    expect(page.get_by_role("heading", name="Sign in to the console")).to_be_visible()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("link", name="Declare incident").first.click()
    page.get_by_label("Title").fill("Elevated API error rates")
    page.get_by_label("Major").check()
    page.get_by_label("Status of Api").select_option("major_outage")
    page.get_by_label("Status of Web").select_option("partial_outage")
    page.get_by_label("First update").fill("We are investigating **elevated error rates**.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".preview strong")).to_have_text("elevated error rates")
    screenshot("incident-01-declare-preview")
    page.get_by_role("button", name="Declare incident").click()
    expect(page.locator(".flash")).to_contain_text("Incident declared")
    screenshot("incident-02-console-investigating")
    public_id = db.session.scalar(db.select(Incident.public_id))
    db.session.commit()
    public_url = f"{base}/incidents/{public_id}"

    public = page.context.new_page()
    public.goto(public_url)
    expect(public.get_by_role("heading", name="Elevated API error rates")).to_be_visible()
    expect(public.locator("[data-component=api]")).to_contain_text("Major Outage")
    expect(public.locator("[data-component=web]")).to_contain_text("Partial Outage")

    def screenshot_public(name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        public.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    steps = [("Identified", "The cause is a bad deploy.", None),
             ("Monitoring", "Rolled back; error rates are normal.", "operational"),
             ("Resolved", "This incident has been resolved.", None)]
    for label, text, api_status in steps:
        page.get_by_role("radio", name=label, exact=True).check()
        page.get_by_label("Message").fill(text)
        if api_status:
            page.get_by_label("Status of Api").select_option(api_status)
            page.get_by_label("Status of Web").select_option(api_status)
        page.get_by_role("button", name="Post update").click()
        expect(page.locator(".flash")).to_contain_text("Update posted")
        public.reload()
        expect(public.locator("[data-incident-status]")).to_have_text(label)
        expect(public.locator(".timeline-item").first).to_contain_text(text)
        screenshot_public(f"incident-03-public-{label.lower()}")
    expect(public.locator("[data-component=api]")).to_contain_text("Operational")
    screenshot("incident-04-console-resolved")

    page.get_by_role("link", name="Postmortem").first.click()
    page.get_by_role("button", name="Start postmortem").click()
    expect(page.get_by_label("Timeline")).to_contain_text("Update posted: *identified*")
    page.get_by_label("Summary").fill("A deploy with a bad connection-pool setting exhausted the database.")
    page.get_by_label("Root cause").fill("The pool size was set to 1 in the new release.")
    page.get_by_label("Lessons learned").fill("INTERNAL: canary did not cover the API.")
    page.get_by_label("Cause category").select_option("change")
    page.get_by_role("button", name="Save and publish").click()
    expect(page.locator(".flash")).to_contain_text("Postmortem published")
    screenshot("incident-05-postmortem-editor")

    public.reload()
    expect(public.locator("#postmortem")).to_contain_text("bad connection-pool setting")
    expect(public.locator("#postmortem")).to_contain_text("pool size was set to 1")
    expect(public.locator("body")).not_to_contain_text("INTERNAL: canary")
    expect(public.locator("[data-incident-status]")).to_have_text("Postmortem")
    screenshot_public("incident-06-public-postmortem")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone at 3 a.m.
    page.goto(base + f"/admin/incidents/{public_id}")
    screenshot("incident-07-console-phone")
