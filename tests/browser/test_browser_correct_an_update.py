"""Issue 17, item 2 in Chromium: a responder corrects a posted update's text from the incident page
(a disclosure with a form, no script), and the public page shows the corrected text."""

import pytest
from playwright.sync_api import expect

from tests.support import factories as f


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_a_responder_corrects_an_update(app, live_server, page, screenshot, width):
    api = f.component("Public API", "api")
    inc = f.incident("Elevated errors", components={api: "major_outage"})
    f.update(inc, "We are investigating elevated erors on the APi.", status="investigating")
    public_id = inc.public_id
    email = f.user("responder", "oncall@acme.test").email
    f.page(name="Acme Cloud")  # commits: the server thread needs the write lock
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/admin/incidents/{public_id}")
    page.get_by_text("Correct this text").first.click()
    box = page.get_by_label("Corrected text").first
    expect(box).to_have_value("We are investigating elevated erors on the APi.")
    box.fill("We are investigating elevated errors on the API.")
    screenshot(f"correct-update-form-{width}")
    page.get_by_role("button", name="Save correction").first.click()
    expect(page.locator(".flash")).to_contain_text("Update corrected")
    screenshot(f"correct-update-done-{width}")
    page.goto(f"{live_server.url}/incidents/{public_id}")
    expect(page.get_by_text("We are investigating elevated errors on the API.")).to_be_visible()
