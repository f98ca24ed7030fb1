"""The trust page in Chromium: axe-core (light and dark), screenshots, tooltips, the official widget."""

import datetime as dt
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.services.incidents.status import set_check_status
from tests.support import factories as f

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDGET = ROOT / "node_modules" / "@statuspage" / "status-widget" / "dist" / "index.js"


@pytest.fixture
def demo(app):
    now = utcnow()
    comps = f.demo_site(now, components=10, groups=3, incidents=25)
    set_check_status(comps[1], "partial_outage")
    inc = f.incident("Elevated latency on Dashboard", components={comps[1]: "partial_outage"}, impact="major")
    f.update(inc, "We are investigating **elevated latency** on the dashboard.", status="investigating")
    old = f.incident("Login failures", components={comps[0]: "major_outage"}, status="resolved",
                     impact="critical", started_at=now - dt.timedelta(days=2, hours=1),
                     resolved_at=now - dt.timedelta(days=2))
    f.update(old, "Investigating login failures.", status="investigating", at=now - dt.timedelta(days=2, hours=1))
    f.update(old, "Resolved: an expired certificate was replaced.", status="resolved", at=now - dt.timedelta(days=2))
    f.postmortem(old, [{"key": "summary", "title": "Summary", "body": "A certificate expired.", "public": True}])
    f.maintenance("Database upgrade", start=now + dt.timedelta(days=2), end=now + dt.timedelta(days=2, hours=2),
                  components={comps[3]: 1})
    db.session.commit()
    return {"incident": inc, "old": old}


def axe_violations(page) -> list[dict]:
    # Evaluated through the DevTools protocol, not as a <script> tag: the pages' CSP (no inline script)
    # stays on and is not what this checks.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate("(source) => { (0, eval)(source); }", AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violations(demo, live_server, page, screenshot, scheme):
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": 1100, "height": 900})
    for name, path in [("index", "/"), ("incident", f"/incidents/{demo['old'].public_id}"),
                       ("history", "/history"), ("component", "/components/c0")]:
        page.goto(live_server.url + path)
        assert axe_violations(page) == [], f"{path} in {scheme}"
        if name == "index":
            screenshot(f"public-index-{scheme}")
        if name == "incident":
            screenshot(f"public-incident-{scheme}")


@pytest.mark.browser
def test_the_page_on_a_phone(demo, live_server, page, screenshot):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Partial System Outage")).to_be_visible()
    visible = page.locator("[data-component=c0] .bar:visible")
    assert visible.count() == 30  # 30 days on a phone, like Statuspage
    screenshot("public-index-phone")


@pytest.mark.browser
def test_a_hovered_bar_shows_its_date_uptime_and_incidents(demo, live_server, page, screenshot):
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(live_server.url + "/")
    bar = page.locator("[data-component=c1] .bar").last
    bar.hover()
    label = bar.get_attribute("data-label")
    assert "Partial Outage" in label and "Elevated latency on Dashboard" in label
    tip = page.evaluate("el => getComputedStyle(el, '::after').content", bar.element_handle())
    assert "Elevated latency on Dashboard" in tip
    screenshot("public-index-bar-tooltip")


@pytest.mark.browser
def test_a_keyboard_user_passes_a_components_bars_with_one_tab(demo, live_server, page):
    """Tab goes component name → the bars (one stop) → the next component's name: not 90 stops a component."""
    page.set_viewport_size({"width": 1100, "height": 900})
    page.goto(live_server.url + "/")
    page.locator("[data-component=c1] .component-name a").focus()
    stops = []
    for _ in range(3):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("() => { const a = document.activeElement; "
                                   "return [a.className || a.tagName, a.closest('[data-component]')?.dataset.component]; }"))
    assert stops[0] == ["bars", "c1"]
    following = stops[1][1]
    assert stops[1][0] == "A" and following not in (None, "c1")  # the next component's name link
    assert stops[2] == ["bars", following]
    # The strip leads to the same days as a table (the details opens on the fragment).
    page.locator("[data-component=c1] a.bars").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/components/c1#day-by-day")
    expect(page.locator("#day-by-day")).to_be_visible()
    assert page.locator("#day-by-day tbody tr").count() == 90
    assert "Elevated latency on Dashboard" in page.locator("#day-by-day tbody tr").first.inner_text()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.browser
def test_the_official_status_widget_shows_our_status(demo, live_server, page, tmp_path):
    """@statuspage/status-widget from npm, on another origin, pointed at our server."""
    (tmp_path / "widget.js").write_bytes(WIDGET.read_bytes())
    (tmp_path / "embed.html").write_text(
        "<!doctype html><html lang=en><head><title>Embed</title><script src='widget.js'></script></head>"
        f"<body><statuspage-widget src='{live_server.url}/some/path'></statuspage-widget></body></html>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/embed.html")
        read = ("() => { const el = document.querySelector('statuspage-widget');"
                " return el && el.shadowRoot ? el.shadowRoot.textContent : ''; }")
        page.wait_for_function(f"({read})().includes('Partial System Outage')", timeout=10000)
        html = page.evaluate("() => document.querySelector('statuspage-widget').shadowRoot.innerHTML")
        assert "Partial System Outage" in page.evaluate(read)
        assert "major" in html  # the indicator drives the widget's colour class
    finally:
        server.shutdown()
        thread.join(timeout=5)
