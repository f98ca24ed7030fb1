"""/api/v1: accounts CRUD, affected accounts of an incident, the SLA report — JSON errors, never 500."""

import pytest

from statuspage.extensions import db
from statuspage.services.users import create_token
from tests.accounts.scenario import build
from tests.support import factories as f


@pytest.fixture
def tokens(app):
    _, read = create_token("ro", "read")
    _, write = create_token("rw", "write")
    return {"read": {"Authorization": f"Bearer {read}"}, "write": {"Authorization": f"Bearer {write}"}}


def test_accounts_crud_with_validation_errors_in_the_api_shape(app, client, tokens):
    f.component("API", slug="api")
    db.session.commit()
    body = {"id": "CRM-1", "name": "Globex", "arr": 1000, "components": ["api"], "owner": "jane@acme.test",
            "contacts": [{"email": "ops@globex.test", "notify": "major"}]}
    assert client.post("/api/v1/accounts", json=body, headers=tokens["read"]).status_code == 403
    created = client.post("/api/v1/accounts", json=body, headers=tokens["write"])
    assert created.status_code == 201 and created.json["source"] == "api"
    assert client.post("/api/v1/accounts", json=body, headers=tokens["write"]).status_code == 409
    bad = client.post("/api/v1/accounts", json={"id": "X", "name": "Y", "arr": -5, "components": ["nope"]},
                      headers=tokens["write"])
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"arr", "components[0]"}
    patched = client.patch("/api/v1/accounts/CRM-1", json={"arr": 2000}, headers=tokens["write"])
    assert patched.status_code == 200 and patched.json["arr"] == 2000 and patched.json["contacts"][0]["notify"] == "major"
    assert client.get("/api/v1/accounts?owner=jane@acme.test", headers=tokens["read"]).json["accounts"][0]["id"] == "CRM-1"
    not_json = client.patch("/api/v1/accounts/CRM-1", data="nope", headers=tokens["write"])
    assert not_json.status_code == 415 and not_json.json["error"]["code"] == "unsupported_media_type"
    assert client.delete("/api/v1/accounts/CRM-1", headers=tokens["write"]).status_code == 204
    assert client.get("/api/v1/accounts/CRM-1", headers=tokens["read"]).status_code == 404
    assert client.get("/api/v1/accounts").status_code == 401


def test_affected_accounts_and_sla_over_the_api(app, client, tokens):
    s = build()
    resp = client.get(f"/api/v1/incidents/{s.c.public_id}/affected-accounts", headers=tokens["read"])
    assert resp.status_code == 200
    assert [a["id"] for a in resp.json["accounts"]] == ["U-3", "G-1", "I-2"]
    assert resp.json["total_arr_at_risk"] == 470000
    assert resp.json["accounts"][0]["outage_minutes"] == 75
    assert resp.json["accounts"][0]["outreach"] == {"contacted": None, "rca_sent": None, "acknowledged": None}
    assert client.get("/api/v1/incidents/nope/affected-accounts", headers=tokens["read"]).status_code == 404
    sla = client.get("/api/v1/sla?from=2026-03-01&to=2026-03-31&account=G-1", headers=tokens["read"])
    assert sla.status_code == 200
    row = sla.json["accounts"][0]
    assert (row["account"], row["met"], row["credit_percent"]) == ("G-1", False, 10.0)
    assert "Uptime = 1 − (major-outage minutes + 0.3 × partial-outage minutes" in sla.json["formula"]
    assert client.get("/api/v1/sla?from=March", headers=tokens["read"]).json["error"]["code"] == "invalid_request"
    assert client.get("/api/v1/sla?from=2026-03-01&account=ZZ", headers=tokens["read"]).status_code == 404
