"""Probe locations in Chromium: the public "Monitoring data delayed" and an account's regional problem,
at desktop and phone widths, in light and dark (axe-core: contrast and the rest), with screenshots."""

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Account, Check
from statuspage.services.accounts.private_links import account_view_token
from statuspage.services.monitoring.locations import sweep_locations
from tests.browser.test_browser_trust_page import axe_violations
from tests.locations.helpers import apply_three, post, probe_tokens, record_local, result

WIDTHS = (1280, 390)


def _three_up(app) -> tuple[int, dict[str, str], dt.datetime]:
    apply_three()
    tokens = probe_tokens("eu-west", "us-east")
    cid = db.session.scalar(select(Check.id).where(Check.slug == "api-health"))
    t0 = utcnow().replace(microsecond=0) - dt.timedelta(seconds=40)
    record_local(cid, t0)
    client = app.test_client()
    for loc in ("eu-west", "us-east"):
        assert post(client, loc, tokens[loc], [result(cid, t0)]).status_code == 200
    return cid, tokens, t0


@pytest.fixture
def delayed(app):
    _three_up(app)
    sweep_locations(now=utcnow() + dt.timedelta(minutes=2))  # both agents silent past their 60 s
    db.session.expire_all()
    assert db.session.scalar(select(Check.monitoring_delayed))


@pytest.fixture
def regional(app):
    cid, tokens, t0 = _three_up(app)
    client = app.test_client()
    assert post(client, "eu-west", tokens["eu-west"],
                [result(cid, t0 + dt.timedelta(seconds=30), "down")]).status_code == 200
    return account_view_token(db.session.scalar(select(Account).where(Account.external_id == "CRM-EU")))


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_public_page_says_monitoring_data_delayed(delayed, live_server, page, screenshot, scheme):
    page.emulate_media(color_scheme=scheme)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(live_server.url + "/")
        row = page.locator("li[data-component='api']")
        expect(row.locator(".status-text")).to_have_text("Monitoring data delayed")
        expect(page.locator("#overall-heading")).to_have_text("Monitoring Data Delayed")
        assert axe_violations(page) == [], f"{width} {scheme}"
        screenshot(f"locations-public-delayed-{width}-{scheme}")
    page.goto(live_server.url + "/components/api")
    expect(page.locator(".page-head .status-text")).to_have_text("Monitoring data delayed")
    assert axe_violations(page) == []
    screenshot(f"locations-component-delayed-390-{scheme}")


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_account_view_shows_the_regional_problem(regional, live_server, page, screenshot, scheme):
    page.emulate_media(color_scheme=scheme)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/a/{regional}")
        item = page.locator(".regional-list li")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("Regional problem seen from eu-west (Frankfurt): Public API failing since")
        assert axe_violations(page) == [], f"{width} {scheme}"
        screenshot(f"locations-account-regional-{width}-{scheme}")
