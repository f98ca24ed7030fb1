"""/api/v1 incidents in Statuspage's management API shape; auth schemes, idempotency, pagination, errors."""

import pytest

from statuspage.services.users import create_token
from tests.support.factories import make_components


@pytest.fixture
def writer(app):
    make_components("api", "web")
    _, plaintext = create_token("ci", "write")
    return plaintext


def test_statuspage_scripts_create_and_resolve_an_incident_with_oauth_header(client, writer):
    headers = {"Authorization": f"OAuth {writer}"}
    resp = client.post("/api/v1/incidents", headers=headers, json={"incident": {
        "name": "Elevated errors", "status": "investigating", "impact_override": "major", "body": "Looking.",
        "components": {"api": "major_outage", "web": "degraded_performance"}, "deliver_notifications": True}})
    assert resp.status_code == 201, resp.json
    inc = resp.json
    assert inc["status"] == "investigating" and inc["impact"] == "major" and not inc["draft"]
    assert {c["id"]: c["status"] for c in inc["components"]} == {"api": "major_outage",
                                                                 "web": "degraded_performance"}
    assert resp.headers["Location"].endswith(f"/api/v1/incidents/{inc['id']}")
    resp = client.patch(f"/api/v1/incidents/{inc['id']}", headers={"Authorization": f"Bearer {writer}"},
                        json={"incident": {"status": "resolved", "body": "Fixed."}})
    assert resp.status_code == 200 and resp.json["status"] == "resolved" and resp.json["resolved_at"]
    assert resp.json["incident_updates"][0]["body"] == "Fixed."
    comp = client.get("/api/v1/components/api", headers=headers).json
    assert comp["status"] == "operational" and comp["status_source"] == "check"


def test_a_retried_post_with_the_same_idempotency_key_creates_one_incident(client, writer):
    headers = {"Authorization": f"Bearer {writer}", "Idempotency-Key": "deploy-42"}
    body = {"incident": {"name": "Deploy failed", "components": {"api": "partial_outage"}}}
    first = client.post("/api/v1/incidents", headers=headers, json=body)
    second = client.post("/api/v1/incidents", headers=headers, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json["id"] == second.json["id"] and second.headers["Idempotent-Replayed"] == "true"
    listing = client.get("/api/v1/incidents", headers=headers)
    assert listing.headers["X-Total-Count"] == "1"
    other = client.post("/api/v1/incidents", headers=headers, json={"incident": {"name": "Other"}})
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"


def test_lists_paginate_with_link_and_total_headers(client, writer):
    headers = {"Authorization": f"Bearer {writer}"}
    for i in range(5):
        client.post("/api/v1/incidents", headers=headers, json={"incident": {"name": f"Incident {i}"}})
    resp = client.get("/api/v1/incidents?per_page=2&page=2", headers=headers)
    assert resp.status_code == 200 and len(resp.json) == 2
    assert resp.headers["X-Total-Count"] == "5"
    assert 'rel="next"' in resp.headers["Link"] and 'rel="prev"' in resp.headers["Link"]
    assert "page=3" in resp.headers["Link"]
    assert client.get("/api/v1/incidents?per_page=1000", headers=headers).status_code == 400


@pytest.mark.parametrize("method,path,kwargs,status,code", [
    ("get", "/api/v1/nope", {}, 404, "not_found"),
    ("delete", "/api/v1/incidents", {}, 405, "method_not_allowed"),
    ("post", "/api/v1/incidents", {"data": "name=x"}, 415, "unsupported_media_type"),
    ("post", "/api/v1/incidents", {"data": "{bad", "content_type": "application/json"}, 400, "invalid_request"),
    ("post", "/api/v1/incidents", {"json": ["list"]}, 400, "invalid_request"),
    ("post", "/api/v1/incidents", {"json": {"incident": {"name": "x", "sneaky": 1}}}, 400, "invalid_request"),
    ("post", "/api/v1/incidents", {"json": {"incident": {"name": "x", "components": {"nope": "major_outage"}}}},
     422, "validation_failed"),
    ("post", "/api/v1/incidents", {"json": {"incident": {"name": "x", "status": "exploded"}}}, 400,
     "invalid_request"),
    ("patch", "/api/v1/incidents/doesnotexist", {"json": {"incident": {"status": "resolved"}}}, 404, "not_found"),
], ids=["unknown-path", "wrong-method", "form-body", "bad-json", "not-object", "unknown-field",
        "unknown-component", "bad-status", "unknown-incident"])
def test_bad_input_gets_a_json_error_never_html(client, writer, method, path, kwargs, status, code):
    resp = getattr(client, method)(path, headers={"Authorization": f"Bearer {writer}"}, **kwargs)
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    assert resp.is_json and resp.json["error"]["code"] == code
    assert set(resp.json["error"]) == {"code", "message", "fields"}


def test_a_revoked_or_unknown_token_is_refused(client, writer):
    resp = client.get("/api/v1/incidents", headers={"Authorization": "Bearer sp_nope"})
    assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthorized"


def test_maintenance_and_postmortem_through_the_api(client, writer):
    headers = {"Authorization": f"Bearer {writer}"}
    m = client.post("/api/v1/maintenance", headers=headers, json={"maintenance": {
        "name": "DB upgrade", "scheduled_for": "2030-01-01T10:00:00Z", "scheduled_until": "2030-01-01T12:00:00Z",
        "components": ["api"]}})
    assert m.status_code == 201 and m.json["status"] == "scheduled"
    cancelled = client.patch(f"/api/v1/maintenance/{m.json['id']}", headers=headers,
                             json={"maintenance": {"status": "cancelled", "body": "Not needed."}})
    assert cancelled.json["status"] == "cancelled"
    inc = client.post("/api/v1/incidents", headers=headers, json={"incident": {"name": "x", "status": "resolved"}})
    put = client.put(f"/api/v1/incidents/{inc.json['id']}/postmortem", headers=headers, json={"postmortem": {
        "cause_category": "change", "sections": {"summary": {"body": "A deploy broke it.", "public": True}}}})
    assert put.status_code == 200 and put.json["cause_category"] == "change"
    pub = client.post(f"/api/v1/incidents/{inc.json['id']}/postmortem/publish", headers=headers, json={})
    assert pub.status_code == 200 and pub.json["published_at"]
    assert client.get(f"/api/v1/incidents/{inc.json['id']}", headers=headers).json["status"] == "postmortem"


def test_the_openapi_document_validates(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_a_retry_after_a_crash_between_commit_and_stored_answer_does_not_duplicate(client, writer, monkeypatch):
    """The key commits with the incident: if the process dies before the answer is stored, the retry
    is told so (409) instead of creating the incident again; a key whose request changed nothing is free."""
    from statuspage.services import idempotency

    headers = {"Authorization": f"Bearer {writer}", "Idempotency-Key": "deploy-43"}
    body = {"incident": {"name": "Deploy failed", "components": {"api": "partial_outage"}}}

    def crash(*args, **kwargs):
        raise SystemExit("killed after the commit")  # the process dies here

    monkeypatch.setattr(idempotency, "store_response", crash)
    with pytest.raises(SystemExit):
        client.post("/api/v1/incidents", headers=headers, json=body)
    monkeypatch.undo()

    retry = client.post("/api/v1/incidents", headers=headers, json=body)
    assert retry.status_code == 409 and retry.json["error"]["code"] == "idempotency_key_in_flight"
    listing = client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {writer}"})
    assert listing.headers["X-Total-Count"] == "1"

    # Refused input commits nothing, its key included: the corrected request may reuse the key.
    bad = {"incident": {"name": "x", "components": {"nope": "major_outage"}}}
    first = client.post("/api/v1/incidents", headers={**headers, "Idempotency-Key": "k-fix"}, json=bad)
    assert first.status_code == 422 and "Idempotent-Replayed" not in first.headers
    fixed = client.post("/api/v1/incidents", headers={**headers, "Idempotency-Key": "k-fix"}, json=body)
    assert fixed.status_code == 201
    assert client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {writer}"}).headers[
        "X-Total-Count"] == "2"


def test_idempotency_keys_expire_after_a_day(client, writer):
    import datetime as dt

    from statuspage.services.idempotency import prune_idempotency_keys

    headers = {"Authorization": f"Bearer {writer}", "Idempotency-Key": "nightly"}
    body = {"incident": {"name": "Nightly job failed"}}
    assert client.post("/api/v1/incidents", headers=headers, json=body).status_code == 201
    assert prune_idempotency_keys() == 0
    assert client.post("/api/v1/incidents", headers=headers, json=body).headers["Idempotent-Replayed"] == "true"
    assert prune_idempotency_keys(dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)) == 1
    second = client.post("/api/v1/incidents", headers=headers, json=body)
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
