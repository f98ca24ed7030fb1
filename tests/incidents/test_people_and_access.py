"""Login, rate limit, logout, password change, tokens shown once, audit log for admins."""

import re

from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import ApiToken, AuditLog
from statuspage.services.users import find_token
from tests.support import factories as f
from tests.support.console import csrf_from, csrf_token, login, login_with_password
from tests.support.factories import PASSWORD


def test_wrong_passwords_are_rate_limited_and_audited(app, client):
    user = f.user("viewer")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    codes = [client.post("/login", data={"email": user.email, "password": "wrong password!",
                                         "csrf_token": token}).status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "auth.login_failed"))


def test_login_only_redirects_to_local_paths(app, client):
    user = f.user("viewer")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login?next=https://evil.example/", data={"email": user.email, "password": PASSWORD,
                                                                   "csrf_token": token})
    assert resp.headers["Location"] == "/admin/"


def test_a_password_change_ends_other_sessions(app, client):
    user = f.user("responder")
    other = app.test_client()
    login_with_password(client, user.email)
    login_with_password(other, user.email)
    token = csrf_token(client, "/account/password")
    resp = client.post("/account/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                  "new_password": "another long password",
                                                  "confirm": "another long password"})
    assert resp.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 302  # signed out


def test_logout_ends_the_session(app, client):
    login(client, "viewer")
    token = csrf_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_an_admin_creates_a_token_sees_it_once_and_revokes_it(app, client):
    login(client, "admin")
    token = csrf_token(client, "/admin/tokens")
    resp = client.post("/admin/tokens", data={"csrf_token": token, "name": "deploys", "scope": "write"})
    html = resp.get_data(as_text=True)
    plaintext = re.search(r'value="(sp_[^"]+)"', html).group(1)
    assert resp.headers["Cache-Control"] == "no-store" and find_token(plaintext) is not None
    assert plaintext not in client.get("/admin/tokens").get_data(as_text=True)
    row = db.session.scalar(select(ApiToken))
    client.post(f"/admin/tokens/{row.id}/revoke", data={"csrf_token": token})
    db.session.expire_all()
    assert find_token(plaintext) is None
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "token.create" in audit and "token.revoke" in audit


def test_an_admin_cannot_demote_the_last_admin(app, client):
    admin = login(client, "admin")
    token = csrf_token(client, "/admin/users")
    client.post(f"/admin/users/{admin.id}", data={"csrf_token": token, "role": "viewer"})
    db.session.expire_all()
    assert db.session.get(type(admin), admin.id).role == "admin"
