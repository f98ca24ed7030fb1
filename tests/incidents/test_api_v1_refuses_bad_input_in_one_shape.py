"""Every /api/v1 route refuses bad input the same way: one error shape, one documented code per situation.

The routes come from the OpenAPI document, so a new route is covered the day it is documented: a
malformed body, an unknown query parameter, bad paging and an unknown id each get the code the
document lists (`components.schemas.Error`), never a 500 and never another shape.
"""

from __future__ import annotations

import datetime as dt
import re

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Subscriber
from statuspage.services.incidents import lifecycle as svc
from statuspage.services.incidents import maintenance as maint_svc
from statuspage.services.incidents import postmortems as pm_svc
from statuspage.services.users import create_token
from statuspage.web.api.toolkit import CODES
from tests.support.console import csrf_token, login
from tests.support.factories import ALICE, make_check, make_components


def _world(client) -> dict:
    """One of everything a path can name, a write token, and the OpenAPI document."""
    (api,) = make_components("api")
    make_check(api, "api")
    inc = svc.declare_incident(name="Outage", impact="major", components={api.id: "major_outage"}, actor=ALICE)
    pm_svc.get_or_create_postmortem(inc, actor=ALICE)
    now = utcnow()
    maint = maint_svc.schedule_maintenance(name="DB upgrade", scheduled_for=now + dt.timedelta(days=1),
                                           scheduled_until=now + dt.timedelta(days=1, hours=1),
                                           components=["api"], actor=ALICE)
    # Written directly: saving a webhook resolves its host, and these tests have no DNS for it.
    sub = Subscriber(kind="webhook", webhook_url="https://hooks.customer.test/x", webhook_secret="whsec_x",
                     webhook_format="statuspage", all_components=True, confirmed_at=utcnow(), token_version=1)
    db.session.add(sub)
    db.session.commit()
    _, token = create_token("errors", "write")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/accounts", json={"id": "CRM-1", "name": "Globex"}, headers=headers).status_code == 201
    spec = client.get("/api/v1/openapi.json").json
    return {"spec": spec, "headers": headers,
            "known": {"slug": "api", "public_id": inc.public_id, "maintenance": maint.public_id,
                      "sub_id": str(sub.id), "row_id": "1", "external_id": "CRM-1"}}


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield path, method, op


def _fill(path: str, known: dict, unknown: bool = False) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if unknown:
            return "999999" if name in ("sub_id", "row_id") else "nope"
        if name == "public_id" and path.startswith("/api/v1/maintenance/"):
            return known["maintenance"]
        return known[name]

    return re.sub(r"\{(\w+)\}", value, path)


def _envelope(op: dict) -> str | None:
    """The member a Statuspage-style body wraps its fields in ({"incident": {...}}), if any."""
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    props = schema.get("properties", {})
    if len(props) == 1 and schema.get("required") == list(props) and next(iter(props.values())).get("type") == "object":
        return next(iter(props))
    return None


def _refused(resp, status: int, code: str, documented: list[str]) -> str | None:
    """None when the answer is the one shape with `status` and `code`; else what was wrong."""
    if resp.status_code != status or not resp.is_json:
        return f"{resp.status_code} {resp.get_data(as_text=True)[:200]}"
    error = resp.json.get("error")
    if not isinstance(error, dict) or set(error) != {"code", "message", "fields"} or set(resp.json) != {"error"}:
        return f"shape {resp.json}"
    if error["code"] != code or code not in documented or CODES[code] != status:
        return f"code {error['code']}"
    if not isinstance(error["message"], str) or not isinstance(error["fields"], dict):
        return f"types {error}"
    return None


def test_a_malformed_body_is_400_invalid_request_and_a_non_json_one_415(client):
    w = _world(client)
    documented = w["spec"]["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    failures, checked = [], 0
    for path, method, op in _operations(w["spec"]):
        if "requestBody" not in op:
            continue
        url, env = _fill(path, w["known"]), _envelope(op)
        inner = {"sneaky": 1}
        cases = [
            ("not JSON", {"data": "{bad", "content_type": "application/json"}, 400, "invalid_request", None),
            ("not an object", {"json": ["list"]}, 400, "invalid_request", None),
            ("a form", {"data": "a=b", "content_type": "application/x-www-form-urlencoded"}, 415,
             "unsupported_media_type", None),
            ("an unknown field", {"json": {env: inner} if env else inner}, 400, "invalid_request",
             f"{env}.sneaky" if env else "sneaky"),
        ]
        if env:
            cases.append(("no envelope", {"json": inner}, 400, "invalid_request", "sneaky"))
        for label, kwargs, status, code, field in cases:
            resp = client.open(url, method=method.upper(), headers=w["headers"], **kwargs)
            problem = _refused(resp, status, code, documented)
            if problem is None and field is not None and field not in resp.json["error"]["fields"]:
                problem = f"fields {resp.json['error']['fields']} lack {field}"
            if problem:
                failures.append(f"{method.upper()} {path} with {label}: {problem}")
            checked += 1
    assert checked >= 60
    assert not failures, "\n".join(failures)


def test_an_unknown_query_parameter_is_400_invalid_request_naming_it(client):
    w = _world(client)
    documented = w["spec"]["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    failures = []
    operations = list(_operations(w["spec"]))
    for path, method, _op in operations:
        resp = client.open(_fill(path, w["known"]) + "?colour=blue", method=method.upper(), headers=w["headers"],
                           json={})
        problem = _refused(resp, 400, "invalid_request", documented)
        if problem is None and resp.json["error"]["fields"] != {"colour": "unknown parameter"}:
            problem = f"fields {resp.json['error']['fields']}"
        if problem:
            failures.append(f"{method.upper()} {path}: {problem}")
    assert len(operations) >= 30
    assert not failures, "\n".join(failures)


BAD_PAGING = [
    ("page=0", "page"), ("page=abc", "page"), ("page=%C2%B2", "page"), ("page=1_0", "page"),
    ("per_page=0", "per_page"), ("per_page=100000", "per_page"), ("per_page=-1", "per_page"),
    ("limit=0", "limit"), ("offset=-1", "offset"), ("offset=x", "offset"), ("page=1&limit=5", "page"),
]


def test_bad_paging_is_400_invalid_request_naming_the_parameter(client):
    w = _world(client)
    documented = w["spec"]["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    lists = [(path, op) for path, method, op in _operations(w["spec"])
             if method == "get" and any(p["name"] == "per_page" for p in op.get("parameters", []))]
    assert len(lists) >= 8
    failures = []
    for path, _op in lists:
        url = _fill(path, w["known"])
        for query, field in BAD_PAGING:
            resp = client.get(f"{url}?{query}", headers=w["headers"])
            problem = _refused(resp, 400, "invalid_request", documented)
            if problem is None and field not in resp.json["error"]["fields"]:
                problem = f"fields {resp.json['error']['fields']} lack {field}"
            if problem:
                failures.append(f"GET {path}?{query}: {problem}")
    assert not failures, "\n".join(failures)


def test_an_unknown_id_is_404_not_found(client):
    w = _world(client)
    documented = w["spec"]["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    failures, checked = [], 0
    for path, method, _op in _operations(w["spec"]):
        if "{" not in path:
            continue
        resp = client.open(_fill(path, w["known"], unknown=True), method=method.upper(), headers=w["headers"],
                           json={})
        problem = _refused(resp, 404, "not_found", documented)
        if problem:
            failures.append(f"{method.upper()} {path}: {problem}")
        checked += 1
    assert checked >= 20
    assert not failures, "\n".join(failures)


def test_every_list_pages_with_page_or_its_limit_offset_aliases(client):
    w = _world(client)
    lists = [path for path, method, op in _operations(w["spec"])
             if method == "get" and any(p["name"] == "per_page" for p in op.get("parameters", []))]
    for path in lists:
        url = _fill(path, w["known"])
        paged = client.get(f"{url}?per_page=1", headers=w["headers"])
        assert paged.status_code == 200, (path, paged.json)
        total = int(paged.headers["X-Total-Count"])
        assert 'rel="first"' in paged.headers["Link"] and "per_page=1" in paged.headers["Link"], path
        assert ('rel="next"' in paged.headers["Link"]) == (total > 1), path
        aliased = client.get(f"{url}?limit=1&offset=0", headers=w["headers"])
        assert aliased.status_code == 200 and aliased.headers["X-Total-Count"] == str(total), path
        assert "offset=0" in aliased.headers["Link"] and "page=" not in aliased.headers["Link"], path
        assert aliased.get_data() == paged.get_data(), path


def test_a_console_session_writes_through_the_api_only_with_its_csrf_token(app, client):
    make_components("api")
    login(client, "responder")
    token = csrf_token(client)
    body = {"incident": {"name": "Seen from the console"}}
    refused = client.post("/api/v1/incidents", json=body, headers={"Origin": "http://localhost"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert "X-CSRFToken" in refused.json["error"]["message"]
    assert client.get("/api/v1/incidents").headers["X-Total-Count"] == "0"
    created = client.post("/api/v1/incidents", json=body, headers={"X-CSRFToken": token, "Origin": "http://localhost"})
    assert created.status_code == 201, created.json
