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


# --- Issue 17, item 9: hostile input gets a 4xx, never a 500 ------------------------------------------------

HOSTILE_BODIES = {
    "deep": "[" * 100_000 + "]" * 100_000,
    "deep-object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "surrogate": '{"incident": {"name": "\\ud800"}, "email": "\\udfff@x.test", "name": "\\ud800", "url": "\\ud800"}',
    "surrogate-key": '{"\\ud800": 1}',
    "huge-number": '{"incident": {"name": "x", "started_at": 1e400}, "arr": 1e400, "minutes": 1e400}',
    "huge-int": '{"minutes": ' + "9" * 5000 + ', "reminder_minutes": ' + "9" * 400 + "}",
    "nan": '{"minutes": NaN, "arr": Infinity}',
    "control": '{"incident": {"name": "a\\u000bb", "body": "c\\u000cd"}, "name": "a\\u000bb"}',
    "not-utf8": b'{"name": "\xff\xfe"}',
    "wrong-types": '{"kind": "email", "email": [null, null], "url": {"a": 1}, "format": ["slack"], "components": '
                   '"api", "incident": {"name": ["x"], "components": [1]}, "name": 5, "arr": "x"}',
    "email-list": '{"kind": "email", "email": [null, null]}',
    "url-object": '{"kind": "webhook", "url": {"a": 1}, "format": "slack"}',
}


def _api_writes(app, values):
    from tests.incidents.test_every_route_is_guarded import _routes

    return [(e, m, u) for e, m, u in _routes(app, values) if u.startswith("/api/v1/") and m != "GET"]


def test_no_json_body_makes_any_write_answer_500(app, client):
    from statuspage.services.users import create_token
    from tests.incidents.test_every_route_is_guarded import _world

    values = _world()
    _, token = create_token("fuzz", "write")
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    routes = _api_writes(app, values) + [("subscribe.subscribe", "POST", "/subscribe")]
    assert len(routes) > 15
    for name, body in HOSTILE_BODIES.items():
        for endpoint, method, url in routes:
            resp = client.open(url, method=method, data=body, headers=auth)
            assert resp.status_code < 500, (name, endpoint, method, resp.status_code)
            if resp.status_code >= 400 and resp.status_code != 429:  # /subscribe's limit is reached here
                assert resp.is_json, (name, endpoint)


HOSTILE_QUERIES = ["²", "٣", "-1", "+1", " 1", "1e3", "99999999999999999999999", "1" * 400, "0x10", ""]


def test_no_query_parameter_makes_any_list_answer_500(app, client):
    from statuspage.services.users import create_token
    from tests.support.console import login

    _, token = create_token("fuzz", "read")
    auth = {"Authorization": f"Bearer {token}"}
    api_lists = {"/api/v1/outbox": ("limit", "offset", "subscriber_id", "incident_id"),
                 "/api/v1/subscribers": ("limit", "offset"), "/api/v1/incidents": ("page", "per_page"),
                 "/api/v1/components": ("page", "per_page"), "/api/v1/maintenance": ("page", "per_page")}
    for path, names in api_lists.items():
        for name in names:
            for value in HOSTILE_QUERIES:
                resp = client.get(path, query_string={name: value}, headers=auth)
                assert resp.status_code in (200, 400), (path, name, value, resp.status_code)
    for value in HOSTILE_QUERIES:
        assert client.get("/history", query_string={"page": value}).status_code in (200, 404), value
    login(client, "admin")
    for path in ("/admin/incidents", "/admin/subscribers", "/admin/outbox", "/admin/audit"):
        for value in HOSTILE_QUERIES:
            assert client.get(path, query_string={"page": value}).status_code == 200, (path, value)
    for value in HOSTILE_QUERIES:
        assert client.get("/admin/reports", query_string={"months": value}).status_code == 200, value
    for big in ("/api/v1/outbox/99999999999999999999", "/api/v1/subscribers/99999999999999999999"):
        assert client.get(big, headers=auth).status_code == 404


def test_long_or_control_character_query_values_are_a_json_400(app, client):
    from statuspage.services.users import create_token

    _, token = create_token("fuzz", "read")
    auth = {"Authorization": f"Bearer {token}"}
    for value in ("x" * 201, "a\x00b", "\x85"):
        resp = client.get("/api/v1/subscribers", query_string={"q": value}, headers=auth)
        assert resp.status_code == 400 and resp.is_json and resp.json["error"]["code"] == "invalid_request", value
    assert client.get("/api/v1/subscribers", query_string={"q": "x" * 200}, headers=auth).status_code == 200
