"""Chromium reads the same component's uptime off `/`, its page, its badge and the private account view
— one figure — and the pages that show figures are screenshotted at 1280 and 390 px.

The clock is frozen (time_machine) at 2026-04-02 10:00 UTC. Europe/Berlin page. ``api`` is monitored
since 03-01 00:00 CET and was down 03-28 22:30 → 03-29 01:30 UTC (180 minutes, across local midnight and
the spring DST change): over the 32 days 11 hours since monitoring began, 1 − 180/46,740 = 99.61%.
``web`` was added 03-16 08:00 UTC (its coverage is said in words); an incident is being monitored with
every component operational.
"""

import pytest
import time_machine
from playwright.sync_api import expect

from statuspage.extensions import db
from statuspage.services.accounts.private_links import account_view_token
from tests.browser.test_browser_trust_page import axe_violations
from tests.support import factories as f
from tests.uptime.conftest import berlin_page

pytestmark = pytest.mark.browser
T = f.T
NOW = T("2026-04-02 10:00")


@pytest.fixture
def frozen_site(app):
    with time_machine.travel(NOW, tick=False):
        berlin_page()
        api = f.component("Public API", slug="api", description="REST API at api.acme.example")
        f.timeline(api, ("2026-02-28 23:00", "operational"), ("2026-03-28 22:30", "major_outage"),
                   ("2026-03-29 01:30", "operational"))
        web = f.component("Web app", slug="web")
        f.timeline(web, ("2026-03-16 08:00", "operational"), ("2026-03-20 10:00", "major_outage"),
                   ("2026-03-20 10:30", "operational"))
        dbc = f.component("Database", slug="db", since=T("2025-12-31 23:00"))
        f.incident("API down overnight", components={api: "major_outage"}, impact="critical", status="resolved",
                   started_at=T("2026-03-28 22:30"), resolved_at=T("2026-03-29 01:30"))
        watched = f.incident("Elevated error rates", components={api: "operational"}, impact="major",
                             status="monitoring", started_at=T("2026-04-02 08:30"))
        f.update(watched, "A fix has been deployed; we are **monitoring** the results.", status="monitoring",
                 at=T("2026-04-02 09:10"))
        umbrella = f.account("U-3", "Umbrella", components=[api, web, dbc], arr=300000, sla_target=99.9)
        f.account("I-2", "Initech", components=[web], arr=50000, sla_target=99.95)
        f.account("G-1", "Globex", components=[api], arr=120000, sla_target=99.5)
        f.user("viewer", "vera@acme.test")
        db.session.commit()
        token = account_view_token(umbrella)
        db.session.commit()  # SQLite has one writer: the live server needs it (never hold a transaction open)
    return token


def figure(text: str) -> str:
    return text.split()[0]


def test_the_same_uptime_on_the_page_the_component_the_badge_and_the_private_view(frozen_site, live_server, page,
                                                                                    screenshot):
    with time_machine.travel(NOW, tick=False):
        seen = {}
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(live_server.url + "/")
            expect(page.get_by_role("heading", name="All Systems Operational")).to_be_visible()
            expect(page.locator("[data-monitoring]")).to_have_text(
                "Every component is operational. We are monitoring the fix for: Elevated error rates.")
            seen[f"/ at {width}px"] = figure(page.locator("[data-component=api] .uptime-figure").inner_text())
            expect(page.locator("[data-component=web] .coverage-note")).to_have_text(
                "Over the 17 days since monitoring began")
            screenshot(f"uptime-index-{width}")

            page.goto(live_server.url + "/components/api")
            seen[f"component page at {width}px"] = page.locator("[data-window='90'] dd").first.inner_text()
            seen[f"component legend at {width}px"] = figure(page.locator(".uptime-figure").inner_text())
            expect(page.locator("[data-window='90'] .coverage-note")).to_have_text(
                "Over the 32 days since monitoring began")
            screenshot(f"uptime-component-{width}")

            page.goto(live_server.url + f"/a/{frozen_site}")
            seen[f"private view at {width}px"] = figure(page.locator("[data-component=api] .uptime-figure").inner_text())
            screenshot(f"uptime-private-view-{width}")

        page.goto(live_server.url + "/badge/api/uptime.svg")
        texts = page.locator("svg text").all_text_contents()
        assert texts == ["Public API uptime since Mar 1", "99.61%"]
        seen["badge"] = texts[1]

        assert set(seen.values()) == {"99.61%"}, seen


def test_the_changed_pages_pass_axe(frozen_site, live_server, page):
    with time_machine.travel(NOW, tick=False):
        page.set_viewport_size({"width": 1280, "height": 900})
        for path in ("/", "/components/api", f"/a/{frozen_site}"):
            page.goto(live_server.url + path)
            assert axe_violations(page) == [], path


def test_the_sla_report_says_what_it_can_and_cannot_show(frozen_site, live_server, page, screenshot):
    with time_machine.travel(NOW, tick=False):
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(live_server.url + "/admin/")
        page.get_by_label("Email").fill("vera@acme.test")
        page.get_by_label("Password").fill(f.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(live_server.url + "/admin/sla?month=2026-03")
        # Initech's only component was added mid-March: half the month monitored, no verdict, no credit.
        initech = page.locator("tr[data-account=I-2]")
        expect(initech.locator("[data-col=result]")).to_have_text("insufficient data (coverage 50.33%)")
        expect(initech.locator("[data-col=credit]")).to_have_text("—")
        # Globex (api only): 1 − 180/44,580 = 99.59% ≥ 99.5: met.
        expect(page.locator("tr[data-account=G-1] [data-col=uptime]")).to_have_text("99.59%")
        expect(page.locator("tr[data-account=G-1] [data-col=result]")).to_have_text("met")
        expect(page.locator("#sla-rules")).to_contain_text("A verdict and a credit are given only when coverage is at least 90%")
        assert axe_violations(page) == []
        screenshot("uptime-sla-report-1280")
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(live_server.url + "/admin/sla?month=2026-03")
        screenshot("uptime-sla-report-390")
