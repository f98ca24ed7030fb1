"""Every route of the Statuspage-compatible API is guarded; any input gets a 4xx with Statuspage's
``{"error": …}`` body, never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter

from statuspage.extensions import db
from statuspage.services.incidents.components import create_component
from statuspage.services.incidents.lifecycle import declare_incident
from statuspage.services.users import create_token
from tests.support.console import login
from tests.support.factories import ALICE

PREFIX = "/api/statuspage/v1"


def _routes(app, page_id: str) -> list[tuple[str, str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("statuspage_api."):
            continue
        args = {name: page_id if name == "page_id" else ("1" if not isinstance(
            rule._converters.get(name), IntegerConverter) else 1) for name in rule.arguments}
        url = rule.build(args, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    assert len(out) > 70, "the walker lost the routes"
    return out


def _is_error(resp, status: int) -> None:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    body = resp.get_json()
    assert isinstance(body, dict) and isinstance(body["error"], str) and body["error"], body


def test_without_a_key_or_with_a_bad_one_every_route_answers_401(app, client, page_id):
    for _endpoint, method, url in _routes(app, page_id):
        resp = client.open(url, method=method, json={})
        _is_error(resp, 401)
        assert resp.headers["WWW-Authenticate"].startswith("OAuth")
        _is_error(client.open(url, method=method, json={}, headers={"Authorization": "OAuth nope"}), 401)


def test_a_console_session_is_not_a_key(app, client, page_id):
    # Bodies may be form-encoded: accepting the session cookie would open the API to cross-site forms.
    login(client, "admin")
    for _endpoint, method, url in _routes(app, page_id):
        _is_error(client.open(url, method=method, data={"incident[name]": "x"}), 401)


def test_a_read_key_reads_and_never_writes(app, client, page_id, tokens):
    inc = declare_incident(name="Outage", actor=ALICE)
    before = inc.name
    read = {"Authorization": f"OAuth {tokens[1]}"}
    for endpoint, method, url in _routes(app, page_id):
        resp = client.open(url, method=method, json={"incident": {"name": "changed"}}, headers=read)
        if method == "GET":
            assert resp.status_code in (200, 404), (endpoint, resp.status_code)
        else:
            _is_error(resp, 403)
    db.session.expire_all()
    assert inc.name == before


def test_another_page_id_is_a_404(app, client, page_id, tokens):
    write = {"Authorization": f"Bearer {tokens[0]}"}
    for _endpoint, method, url in _routes(app, "notthispage1"):
        if "/pages/notthispage1" in url:
            _is_error(client.open(url, method=method, json={}, headers=write), 404)


CASES = [
    ("bad json", "POST", "/incidents", {"data": "{nope", "content_type": "application/json"}, 400),
    ("json array", "POST", "/incidents", {"json": [1, 2]}, 400),
    ("no envelope", "POST", "/incidents", {"json": {"name": "x"}}, 400),
    ("unknown field", "POST", "/incidents", {"json": {"incident": {"name": "x", "colour": "red"}}}, 400),
    ("text body", "POST", "/incidents", {"data": "name=x", "content_type": "text/plain"}, 415),
    ("blank name", "POST", "/incidents", {"data": {"incident[name]": "  "}}, 422),
    ("bad status", "POST", "/incidents", {"json": {"incident": {"name": "x", "status": "exploded"}}}, 422),
    ("bad component status", "POST", "/incidents",
     {"data": {"incident[name]": "x", "incident[components][api]": "on_fire"}}, 422),
    ("unknown component", "POST", "/incidents", {"json": {"incident": {"name": "x", "component_ids": ["zzz"]}}}, 422),
    ("maintenance without window", "POST", "/incidents", {"json": {"incident": {"name": "x", "status": "scheduled"}}},
     422),
    ("window backwards", "POST", "/incidents", {"json": {"incident": {
        "name": "x", "status": "scheduled", "scheduled_for": "2030-01-02T00:00:00Z",
        "scheduled_until": "2030-01-01T00:00:00Z", "component_ids": ["api"]}}}, 422),
    ("time without offset", "POST", "/incidents", {"json": {"incident": {
        "name": "x", "scheduled_for": "2030-01-01T00:00:00", "scheduled_until": "2030-01-02T00:00:00Z"}}}, 422),
    ("impact maintenance on an incident", "POST", "/incidents",
     {"json": {"incident": {"name": "x", "impact_override": "maintenance"}}}, 422),
    ("name too long", "POST", "/components", {"json": {"component": {"name": "x" * 201}}}, 422),
    ("unknown group", "POST", "/components", {"json": {"component": {"name": "x", "group_id": "nope"}}}, 422),
    ("bad boolean", "POST", "/components", {"data": {"component[name]": "x", "component[showcase]": "sometimes"}}, 422),
    ("bad date", "POST", "/components", {"json": {"component": {"name": "x", "start_date": "soon"}}}, 422),
    ("empty group", "POST", "/component-groups", {"json": {"component_group": {"name": "g", "components": []}}}, 422),
    ("unknown incident", "GET", "/incidents/nosuchthing", {}, 404),
    ("unknown subscriber", "GET", "/subscribers/99999", {}, 404),
    ("not a subscriber id", "GET", "/subscribers/abc", {}, 404),
    ("no postmortem", "GET", "/incidents/nosuchthing/postmortem", {}, 404),
    ("unknown route", "GET", "/widgets", {}, 404),
    ("wrong method", "DELETE", "/incident_templates", {}, 405),
    ("unknown query", "GET", "/incidents", {"query_string": {"limt": "5"}}, 400),
    ("per_page zero", "GET", "/components", {"query_string": {"per_page": "0"}}, 400),
    ("limit too big", "GET", "/incidents", {"query_string": {"limit": "101"}}, 400),
    ("bad state", "GET", "/subscribers", {"query_string": {"state": "happy"}}, 400),
    ("sms subscriber", "POST", "/subscribers", {"json": {"subscriber": {"phone_number": "555", "phone_country": "US"}}},
     422),
    ("skip confirmation", "POST", "/subscribers",
     {"json": {"subscriber": {"email": "a@b.example", "skip_confirmation_notification": True}}}, 422),
    ("bad email", "POST", "/subscribers", {"json": {"subscriber": {"email": "not an address"}}}, 422),
    ("bad time zone", "PATCH", "", {"json": {"page": {"time_zone": "Mars/Olympus"}}}, 422),
    ("template status", "POST", "/incident_templates",
     {"json": {"template": {"name": "t", "title": "t", "body": "b", "update_status": "exploded"}}}, 422),
    ("template without title", "POST", "/incident_templates", {"json": {"template": {"name": "t", "body": "b"}}}, 422),
]


@pytest.mark.parametrize("method, path, kwargs, status", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_requests_get_statuspage_errors(app, client, page_id, tokens, method, path, kwargs, status):
    create_component(name="API", actor=ALICE)
    resp = client.open(f"{PREFIX}/pages/{page_id}{path}", method=method,
                       headers={"Authorization": f"OAuth {tokens[0]}"}, **kwargs)
    _is_error(resp, status)
    if status == 405:
        assert "GET" in resp.headers["Allow"]


def test_a_body_too_large_is_a_413_in_the_same_shape(app, client, page_id, tokens):
    resp = client.post(f"{PREFIX}/pages/{page_id}/incidents", headers={"Authorization": f"OAuth {tokens[0]}"},
                       data=json.dumps({"incident": {"name": "x" * (3 * 1024 * 1024)}}),
                       content_type="application/json")
    _is_error(resp, 413)


json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=40)
                           | st.sampled_from(["", "null", "true", "2026-01-01T00:00:00Z", "api", "major_outage",
                                              "scheduled", "resolved"]),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                               st.sampled_from(["name", "status", "body", "components", "component_ids", "impact_override",
                                                "scheduled_for", "scheduled_until", "group_id", "description",
                                                "showcase", "email", "endpoint", "api", "x"]), inner, max_size=5),
                           max_leaves=12)
form_keys = st.sampled_from(["incident[name]", "incident[status]", "incident[components][api]",
                             "incident[component_ids][]", "incident[scheduled_for]", "incident", "incident[]",
                             "incident[[x]]", "component[name]", "component[group_id]", "subscriber[email]",
                             "incident[name][x]", "weird key"])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.dictionaries(st.sampled_from(["incident", "component", "subscriber", "component_group", "page",
                                             "template", "postmortem", "x"]), json_values, max_size=3),
       target=st.sampled_from([("POST", "/incidents"), ("POST", "/components"), ("POST", "/subscribers"),
                               ("POST", "/component-groups"), ("PATCH", "/components/api"),
                               ("PATCH", "/incidents/{inc}"), ("PUT", "/incidents/{inc}/postmortem"),
                               ("PATCH", ""), ("POST", "/incident_templates")]))
def test_any_json_body_gets_an_answer_below_500(app, client, fuzz_world, body, target):
    method, path = target
    resp = client.open(fuzz_world["base"] + path.format(inc=fuzz_world["inc"]), method=method, json=body,
                       headers=fuzz_world["auth"])
    assert resp.status_code < 500, (body, resp.get_data(as_text=True)[:300])
    if resp.status_code >= 400:
        assert "error" in resp.get_json()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(pairs=st.lists(st.tuples(form_keys, st.text(max_size=30) | st.sampled_from(["major_outage", "api", "null"])),
                      max_size=6),
       target=st.sampled_from([("POST", "/incidents"), ("POST", "/components"), ("PATCH", "/incidents/{inc}"),
                               ("POST", "/subscribers")]))
def test_any_form_body_gets_an_answer_below_500(app, client, fuzz_world, pairs, target):
    method, path = target
    resp = client.open(fuzz_world["base"] + path.format(inc=fuzz_world["inc"]), method=method, data=MultiDict(pairs),
                       headers=fuzz_world["auth"])
    assert resp.status_code < 500, (pairs, resp.get_data(as_text=True)[:300])


@pytest.fixture
def fuzz_world(app, page_id):
    create_component(name="API", actor=ALICE)
    inc = declare_incident(name="Outage", actor=ALICE)
    _, key = create_token("fuzz", "write")
    return {"base": f"{PREFIX}/pages/{page_id}", "inc": inc.public_id, "auth": {"Authorization": f"OAuth {key}"}}
