"""Script and HTML in titles, bodies and postmortems render inert on public and admin pages."""

from html.parser import HTMLParser

from statuspage.services.incidents import lifecycle as lifecycle_svc
from statuspage.services.incidents import postmortems as pm_svc
from statuspage.services.incidents import templates as templates_svc
from tests.support.console import login
from tests.support.factories import ALICE, make_components

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">j</a>'
MD_PAYLOAD = PAYLOAD + '\n\n[click](javascript:alert(3)) <iframe src="//evil"></iframe>'


class _Elements(HTMLParser):
    """Collects what a browser would turn into live elements."""

    def __init__(self):
        super().__init__()
        self.bad: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        if tag in ("iframe", "object", "embed") or (tag == "img" and ("src", "x") in attrs):
            self.bad.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.bad.append(f"{tag}[{name}={value}]")

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script and "alert" in data:
            self.bad.append(f"script: {data[:40]}")


def _assert_inert(html: str, where: str) -> None:
    parser = _Elements()
    parser.feed(html)
    assert parser.bad == [], (where, parser.bad)


def test_payloads_are_escaped_or_stripped_everywhere(app, client):
    (api,) = make_components("api")
    inc = lifecycle_svc.declare_incident(name=PAYLOAD, impact="major", components={api.id: "major_outage"},
                               body=MD_PAYLOAD, actor=ALICE)
    lifecycle_svc.add_internal_note(inc, MD_PAYLOAD, actor=ALICE)
    lifecycle_svc.post_update(inc, status="resolved", body=MD_PAYLOAD, actor=ALICE)
    pm = pm_svc.get_or_create_postmortem(inc, actor=ALICE)
    pm_svc.save_postmortem(pm, actor=ALICE, sections={k: {"body": MD_PAYLOAD, "public": True}
                                                      for k in pm_svc.SECTION_KEYS})
    pm_svc.add_action_item(pm, title=PAYLOAD, owner=PAYLOAD, actor=ALICE)
    pm_svc.publish_postmortem(pm, actor=ALICE)
    templates_svc.save_template(name=PAYLOAD[:200], body=MD_PAYLOAD, actor=ALICE)

    public = client.get(f"/incidents/{inc.public_id}").get_data(as_text=True)
    _assert_inert(public, "public incident page")
    assert "&lt;script&gt;" in public  # the title is shown, escaped
    login(client, "admin")
    for path in ("/admin/", "/admin/incidents", f"/admin/incidents/{inc.public_id}",
                 f"/admin/incidents/{inc.public_id}/postmortem", "/admin/templates", "/admin/reports",
                 "/admin/audit"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        _assert_inert(resp.get_data(as_text=True), path)


def test_the_public_page_never_shows_internal_notes_or_drafts(app, client):
    (api,) = make_components("api")
    inc = lifecycle_svc.declare_incident(name="Visible", impact="minor", components={api.id: "degraded_performance"},
                               body="public text", actor=ALICE)
    lifecycle_svc.add_internal_note(inc, "secret note about the customer", actor=ALICE)
    draft = lifecycle_svc.declare_incident(name="Draft", impact="minor", body="not yet", publish=False, actor=ALICE)
    html = client.get(f"/incidents/{inc.public_id}").get_data(as_text=True)
    assert "public text" in html and "secret note" not in html
    assert client.get(f"/incidents/{draft.public_id}").status_code == 404
