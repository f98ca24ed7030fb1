"""Issue 17, item 7: the pages work in Chromium under the Content-Security-Policy we send (no inline
script, style or handler anywhere), and the console cannot be framed."""

import pytest
from playwright.sync_api import expect

from statuspage.services.users import create_token
from tests.support import factories as f

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.mark.browser
def test_pages_raise_no_csp_violation_and_the_console_refuses_framing(app, live_server, page, target):
    api = f.component("Public API", "api")
    inc = f.incident("Elevated errors", components={api: "major_outage"})
    f.update(inc, "We are **investigating**.", status="investigating")
    email = f.user("admin", "admin@acme.test").email
    create_token("ci", "read")
    public_id = inc.public_id
    f.page(name="Acme Cloud")  # commits: the test thread holds no transaction while the server writes
    base = live_server.url
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(WATCH)

    def visit(path: str):
        page.goto(base + path)
        page.wait_for_load_state("load")
        found = page.evaluate("window.__csp")
        assert found == [], (path, found)

    for path in ("/", "/history", f"/incidents/{public_id}", "/components/api", "/subscribe", "/login"):
        visit(path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for path in ("/admin/", f"/admin/incidents/{public_id}", "/admin/subscribers", "/admin/tokens"):
        visit(path)
    # The one behaviour that was an inline handler: a new token's field selects itself on focus.
    page.get_by_label("Name", exact=True).fill("deploy bot")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_load_state("load")  # console.js (the focus handler) has run
    field = page.locator("#plaintext")
    field.focus()
    assert page.evaluate("(() => { const el = document.activeElement; return el.id === 'plaintext' && "
                         "el.selectionStart === 0 && el.selectionEnd === el.value.length && el.value.length > 10 })()")
    assert page.evaluate("window.__csp") == []
    # Framing: the public page may be embedded, the console may not.
    framer = page.context.new_page()
    html = f'<iframe id="pub" src="{base}/"></iframe><iframe id="con" src="{base}/login"></iframe>'
    # Another origin: a real server of the test's own on another port.
    target.set("/framer", body=html.encode(), headers={"Content-Type": "text/html"})
    framer.goto(target.url + "/framer")
    framer.wait_for_timeout(500)
    public_frame = framer.frame_locator("#pub")
    expect(public_frame.get_by_role("heading", level=1).first).to_be_visible()
    expect(framer.frame_locator("#con").get_by_role("heading", name="Sign in to the console")).to_have_count(0)
    assert violations == [], violations
