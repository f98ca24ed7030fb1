"""A walk through every public and console page at 1280 and 390 px, light and dark: a screenshot of each
(test-results/screenshots/walk/, look at them), axe-core with no serious or critical finding, and no
page wider than the window on a phone.

The walk runs on SQLite only: what it checks is rendering, which does not depend on the database (every
page's content is tested on both databases by the HTTP tests).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from statuspage.extensions import db
from tests.browser import walk
from tests.conftest import SCREENSHOTS
from tests.support.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
AXE = (ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text()
SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
OUT = SCREENSHOTS / "walk"


@pytest.fixture
def db_backend():
    return "sqlite"


def _axe(page) -> list[dict]:
    # Evaluated through the DevTools protocol, not as a <script> tag: the pages' CSP stays on.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate("(source) => { (0, eval)(source); }", AXE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def _visit(page, base: str, name: str, path: str, size: str, scheme: str, problems: list[str]) -> None:
    resp = page.goto(base + path)
    expected = 404 if "not-found" in name else 200
    if resp is None or resp.status != expected:
        problems.append(f"{name} {path}: HTTP {resp.status if resp else '?'}")
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{size}-{scheme}-{name}.png"), full_page=True)
    for finding in _axe(page):
        problems.append(f"{name} ({size}, {scheme}): axe {finding}")
    width = SIZES[size]["width"]
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll > width + 1:
        problems.append(f"{name} ({size}): the page is {scroll} px wide in a {width} px window")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_reads_well_at_every_size(app, live_server, page, size, scheme):
    first_run = walk.first_run_paths()
    world = walk.build()
    db.session.commit()
    page.set_viewport_size(SIZES[size])
    page.emulate_media(color_scheme=scheme)
    problems: list[str] = []
    base = live_server.url
    for name, path in world.public + world.signed_out:
        _visit(page, base, name, path, size, scheme, problems)
    page.goto(base + "/login")
    page.get_by_label("Email").fill(world.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for name, path in world.console:
        _visit(page, base, name, path, size, scheme, problems)
    assert first_run  # the setup page was built before the first admin existed; shown by its own test
    assert not problems, "\n".join(problems)


@pytest.mark.browser
@pytest.mark.parametrize("size", list(SIZES))
def test_the_first_run_pages(app, live_server, page, size):
    paths = walk.first_run_paths()
    db.session.commit()
    page.set_viewport_size(SIZES[size])
    problems: list[str] = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for name, path in paths:
            _visit(page, live_server.url, name, path, size, scheme, problems)
    assert not problems, "\n".join(problems)
