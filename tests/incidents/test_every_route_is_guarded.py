"""Walk every registered route: no session → login/401; a viewer changes nothing; no CSRF token → 400."""

import datetime as dt
import re

import pytest
from werkzeug.routing import IntegerConverter

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import ActionItem, UpdateTemplate
from statuspage.models.constants import ROLES
from statuspage.services.incidents import lifecycle as svc
from statuspage.services.incidents import maintenance as maint_svc
from statuspage.services.incidents import postmortems as pm_svc
from statuspage.services.users import create_token
from tests.support.console import csrf_from, csrf_token, login, login_with_password
from tests.support.factories import ALICE, make_components, user

PROTECTED = re.compile(r"^/(admin|api/v1|account|logout)(/|$)")
PUBLIC_IN_PROTECTED = {"/api/v1/openapi.json"}  # the API description holds no data


def _world():
    """One of everything, so every URL with an id points at something real."""
    (api,) = make_components("api")
    inc = svc.declare_incident(name="Outage", impact="major", components={api.id: "major_outage"}, actor=ALICE)
    pm = pm_svc.get_or_create_postmortem(inc, actor=ALICE)
    item = pm_svc.add_action_item(pm, title="Fix it", actor=ALICE)
    tpl = UpdateTemplate(name="t", body="b")
    db.session.add(tpl)
    db.session.commit()
    token, _ = create_token("walker", "read")
    from statuspage.models import Account

    db.session.add(Account(external_id="CRM-1", name="Globex"))
    from statuspage.models import Check

    db.session.add(Check(slug="api", component_id=api.id, kind="tcp", target="127.0.0.1:9",
                         spec={"id": "api", "kind": "tcp", "host": "127.0.0.1", "port": 9},
                         interval_seconds=30, timeout_seconds=5))
    db.session.commit()
    now = utcnow()
    maint = maint_svc.schedule_maintenance(name="DB upgrade", scheduled_for=now + dt.timedelta(days=1),
                                           scheduled_until=now + dt.timedelta(days=1, hours=1),
                                           components=["api"], actor=ALICE)
    return {"public_id": inc.public_id, "maintenance_public_id": maint.public_id, "slug": "api", "item_id": item.id, "template_id": tpl.id,
            "token_id": token.id, "user_id": 1, "subscriber_id": 1, "external_id": "CRM-1"}


def _routes(app, values):
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        maint = "maintenance" in rule.endpoint
        args = {name: values.get(f"maintenance_{name}" if maint and name == "public_id" else name,
                                 1 if isinstance(rule._converters.get(name), IntegerConverter) else "x")
                for name in rule.arguments}
        url = rule.build(args, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule.endpoint, method, url))
    return out


def _protected(app, values):
    routes = [r for r in _routes(app, values) if PROTECTED.match(r[2]) and r[2] not in PUBLIC_IN_PROTECTED]
    assert len(routes) > 50, "the walker lost the routes"
    return routes


def _send(client, method, url, token=None):
    data = {"csrf_token": token} if token else {}
    if url.startswith("/api/"):
        # A console session writing through the API sends the CSRF header from this site (item 3 below).
        headers = {"X-CSRFToken": token, "Origin": "http://localhost"} if token else {}
        return client.open(url, method=method, json={}, headers=headers)
    return client.open(url, method=method, data=data)


def test_without_a_session_every_console_route_redirects_to_login_and_the_api_answers_401(app, client):
    values = _world()
    token = csrf_from(client.get("/login").get_data(as_text=True))  # a session with a CSRF token, no user
    for endpoint, method, url in _protected(app, values):
        resp = _send(client, method, url, token)
        if url.startswith("/api/"):
            assert resp.status_code == 401, (endpoint, method, resp.status_code)
            assert resp.json["error"]["code"] == "unauthorized"
        else:
            assert resp.status_code == 302, (endpoint, method, resp.status_code)
            assert resp.headers["Location"].startswith("/login"), endpoint


def test_a_viewer_cannot_change_anything(app, client):
    values = _world()
    viewer = user("viewer")
    login_with_password(client, viewer.email)
    token = csrf_from(client.get("/admin/").get_data(as_text=True))
    checked = 0
    for endpoint, method, url in _protected(app, values):
        if method == "GET" or endpoint in ("auth.logout", "auth.password"):
            continue  # reading is allowed; signing out and changing one's own password too
        resp = _send(client, method, url, token)
        assert resp.status_code == 403, (endpoint, method, resp.status_code)
        checked += 1
    assert checked >= 25
    assert db.session.get(ActionItem, values["item_id"]).status == "open"


def test_a_viewer_can_read_every_console_page(app, client):
    values = _world()
    viewer = user("viewer")
    login_with_password(client, viewer.email)
    for endpoint, method, url in _protected(app, values):
        if method != "GET" or url.startswith("/api/"):
            continue
        resp = client.get(url)
        admin_only = endpoint in ("admin.users", "admin.tokens", "admin.audit", "admin.incident_new",
                                  "admin.maintenance_new", "accounts_admin.account_new",
                                  "accounts_admin.account_edit")  # forms to create things: writers only
        assert resp.status_code == (403 if admin_only else 200), (endpoint, resp.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reaches_exactly_what_its_role_allows(app, client, role):
    """Each role, signed in, against every protected route: what its view declares it may use answers,
    everything else is 403 — console pages (``require_role``) and API writes by session (``api_auth``)."""
    values = _world()
    login(client, role)
    token = csrf_token(client)
    checked = 0
    for endpoint, method, url in _protected(app, values):
        view = app.view_functions[endpoint]
        if url.startswith("/api/"):
            write_roles = getattr(view, "write_roles", None)
            if write_roles is None:  # reads: every signed-in role
                if method == "GET":
                    assert client.get(url).status_code not in (401, 403), (role, endpoint)
                continue
            allowed = role in write_roles
        else:
            required = getattr(view, "required_roles", None)
            if required is None:
                continue  # signing out, one's own password: every signed-in user
            allowed = role in required
        if allowed and method != "GET":
            continue  # allowed writes are tested by each area's own tests
        resp = _send(client, method, url, token)
        if allowed:
            assert resp.status_code < 400, (role, endpoint, resp.status_code)
        else:
            assert resp.status_code == 403, (role, endpoint, method, resp.status_code)
        checked += 1
    assert checked >= 10


def test_a_read_token_cannot_write_through_the_api(app, client):
    values = _world()
    _, plaintext = create_token("reader", "read")
    for endpoint, method, url in _protected(app, values):
        if not url.startswith("/api/") or method == "GET":
            continue
        resp = client.open(url, method=method, json={}, headers={"Authorization": f"Bearer {plaintext}"})
        assert resp.status_code == 403, (endpoint, method, resp.status_code)


# POST endpoints that are not forms, each with why it needs no CSRF token.
CSRF_EXEMPT = {
    "ping.ping": "heartbeat push URL for cron jobs and scripts; authorized by its secret token, no session",
    "subscribe.unsubscribe": "RFC 8058 one-click unsubscribe from mail clients; authorized by the signed token",
}


@pytest.mark.parametrize("with_session", [True, False])
def test_a_form_post_without_csrf_token_is_refused(app, client, with_session):
    values = _world()
    if with_session:
        admin = user("admin")
        login_with_password(client, admin.email)
    posts = [r for r in _routes(app, values) if r[1] == "POST" and not r[2].startswith("/api/")
             and r[0] not in CSRF_EXEMPT]
    assert any(r[0] == "auth.login" for r in posts)
    for endpoint, _method, url in posts:
        resp = client.post(url, data={"name": "x", "body": "y"})
        assert resp.status_code == 400, (endpoint, resp.status_code)
        assert "CSRF" in resp.get_data(as_text=True)


# --- Issue 17, item 7: security headers on every response ----------------------------------------------------

PUBLIC_PREFIXES = ("/api/v2/", "/history", "/incidents/", "/components/", "/badge/", "/maintenance.ics",
                   "/healthz", "/readyz", "/static/")


def _assert_security_headers(url: str, resp) -> None:
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, (url, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (url, csp)
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", url
    assert resp.headers.get("Referrer-Policy"), url
    public = url == "/" or url.startswith(PUBLIC_PREFIXES)
    if public:
        assert "frame-ancestors *" in csp, url
    else:
        assert "frame-ancestors 'none'" in csp and resp.headers.get("X-Frame-Options") == "DENY", url
        assert resp.headers.get("Referrer-Policy") == "no-referrer", url


@pytest.mark.parametrize("role", [None, "admin"])
def test_every_route_answers_with_security_headers(app, client, role):
    values = _world()
    if role:
        login(client, role)
    seen = 0
    for _endpoint, method, url in _routes(app, values):
        if method != "GET":
            continue
        resp = client.get(url)
        _assert_security_headers(url, resp)
        seen += 1
    for url in ("/", "/", "/history.rss", "/static/style.css", "/no-such-page"):  # the 2nd "/" is the fast path
        _assert_security_headers(url if url != "/no-such-page" else "/admin", client.get(url))
    assert seen > 60


# --- Issue 17, item 3: cookie-authenticated API writes need the CSRF header and this site's origin --------


def _api_session_writes(app, values):
    return [(e, m, u) for e, m, u in _protected(app, values) if u.startswith("/api/") and m != "GET"]


@pytest.mark.parametrize("attack", ["no-header", "foreign-origin", "null-origin", "form-empty-body"])
def test_a_cookie_alone_never_writes_through_the_api(app, client, attack):
    values = _world()
    login(client, "admin")
    token = csrf_token(client)
    routes = _api_session_writes(app, values)
    assert len(routes) > 15
    for endpoint, method, url in routes:
        if attack == "no-header":
            resp = client.open(url, method=method, json={}, headers={"Origin": "http://localhost"})
        elif attack == "foreign-origin":
            resp = client.open(url, method=method, json={},
                               headers={"X-CSRFToken": token, "Origin": "https://evil.example"})
        elif attack == "null-origin":
            resp = client.open(url, method=method, json={}, headers={"X-CSRFToken": token, "Origin": "null",
                                                                     "Referer": "https://evil.example/x"})
        else:  # what the issue did: a cross-site form, empty body, foreign Origin, no header
            resp = client.open(url, method=method, data=b"", content_type="application/x-www-form-urlencoded",
                               headers={"Origin": "https://evil.example"})
        assert resp.status_code == 403, (attack, endpoint, method, resp.status_code)
        assert resp.json["error"]["code"] == "forbidden", (attack, endpoint)
        assert set(resp.json["error"]["fields"]) & {"X-CSRFToken", "Origin"}, (attack, endpoint, resp.json)
    inc = svc.find_incident(values["public_id"])
    assert inc.postmortem is None or inc.postmortem.published_at is None


def test_a_same_origin_session_with_the_header_may_write(app, client):
    values = _world()
    login(client, "admin")
    token = csrf_token(client)
    resp = client.post(f"/api/v1/checks/{values['slug']}/silence", json={"minutes": 5},
                       headers={"X-CSRFToken": token, "Referer": "http://localhost/admin/"})
    assert resp.status_code == 200, resp.text
    resp = client.post(f"/api/v1/checks/{values['slug']}/silence", json={"minutes": 0},
                       headers={"X-CSRFToken": token, "Origin": "http://status.test"})  # the public URL
    assert resp.status_code == 200, resp.text
    # Tokens are unaffected: no cookie, no CSRF header, no Origin.
    _, write = create_token("ci", "write")
    fresh = app.test_client()
    assert fresh.post(f"/api/v1/checks/{values['slug']}/silence", json={"minutes": 5},
                      headers={"Authorization": f"Bearer {write}"}).status_code == 200


# --- Issue 17, item 4: signing out ends the session, also a copy of its cookie ---------------------------


def test_a_saved_session_cookie_stops_working_after_logout(app, client):
    login(client, "admin")
    token = csrf_token(client)
    saved = client.get_cookie("session").value
    assert client.get("/admin/").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", saved)
    resp = thief.get("/admin/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert thief.get("/api/v1/incidents").status_code == 401
