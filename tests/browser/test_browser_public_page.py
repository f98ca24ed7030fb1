"""The public page in Debian's Chromium (Playwright)."""

from pathlib import Path

from playwright.sync_api import expect

from statuspage.configfile import parse_config
from statuspage.services.config_sync import apply_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "statuspage.yml"


def test_the_example_company_page_renders_in_chromium(app, live_server, page, screenshot):
    apply_config(parse_config(EXAMPLE.read_text(), env={}))
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="All Systems Operational")).to_be_visible()
    expect(page.locator("[data-component=api]")).to_contain_text("Operational")
    assert page.title() == "Acme Cloud Status"
    screenshot("foundation-public-page")
