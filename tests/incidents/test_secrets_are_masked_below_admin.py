"""Issue 17, item 11: webhook URLs (a Slack hook URL is a bearer secret), credentials in subscriber URLs
and in check targets are shown whole to admins and write tokens only; every other role and read tokens
see them masked — in the API, the console, and by searching."""

import pytest

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check, Subscriber
from statuspage.models.constants import ROLES
from statuspage.services.users import create_token
from tests.support import factories as f
from tests.support.console import login

HOOK = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"
CRED = "https://ops:hunter2@receiver.example/hook?key=SECRETKEY"
TARGET = "https://probe:pa55word@api.internal.example/health?token=SECRETTOKEN"
SECRETS = ("XXXXSECRETXXXX", "hunter2", "SECRETKEY", "pa55word", "SECRETTOKEN")


@pytest.fixture
def stored(app):
    api = f.component("API", "api")
    now = utcnow()
    for url in (HOOK, CRED):
        db.session.add(Subscriber(kind="webhook", webhook_url=url, webhook_secret="whsec_x",
                                  webhook_format="slack", all_components=True, confirmed_at=now, token_version=1))
    db.session.add(Check(slug="api-health", component_id=api.id, kind="http", target=TARGET,
                         spec={"id": "api-health", "kind": "http", "url": TARGET}, interval_seconds=30,
                         timeout_seconds=5))
    db.session.commit()


def _texts(client, headers=None):
    out = []
    for path in ("/api/v1/subscribers", "/api/v1/subscribers/1", "/api/v1/checks", "/api/v1/checks/api-health"):
        resp = client.get(path, headers=headers or {})
        assert resp.status_code == 200, (path, resp.status_code)
        out.append(resp.get_data(as_text=True))
    return "\n".join(out)


@pytest.mark.parametrize("scope", ["read", "write"])
def test_tokens(stored, client, scope):
    _, token = create_token("t", scope)
    text = _texts(client, {"Authorization": f"Bearer {token}"})
    for secret in SECRETS:
        assert (secret in text) is (scope == "write"), (scope, secret)
    if scope == "read":
        assert "https://hooks.slack.com/services/***" in text and "https://***@receiver.example/hook?***" in text
        assert "https://***@api.internal.example/health?token=***" in text


@pytest.mark.parametrize("role", ROLES)
def test_console_and_api_by_role(stored, client, role):
    login(client, role)
    pages = _texts(client) + client.get("/admin/subscribers").get_data(as_text=True)
    pages += client.get("/admin/checks/api-health").get_data(as_text=True)
    for secret in SECRETS:
        assert (secret in pages) is (role == "admin"), (role, secret)


def test_searching_by_url_is_for_admins(stored, client):
    _, read = create_token("r", "read")
    found = client.get("/api/v1/subscribers?q=XXXXSECRET", headers={"Authorization": f"Bearer {read}"})
    assert found.get_json()["total"] == 0  # one character at a time would have revealed it
    _, write = create_token("w", "write")
    found = client.get("/api/v1/subscribers?q=XXXXSECRET", headers={"Authorization": f"Bearer {write}"})
    assert found.get_json()["total"] == 1
