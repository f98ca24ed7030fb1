"""Factories for the incident tests: components, users, logged-in clients."""

from __future__ import annotations

import re

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check, Component
from statuspage.services.audit import Actor
from statuspage.services.incidents.status import open_initial_interval
from statuspage.services.users import create_user

PASSWORD = "correct horse battery staple"
ALICE = Actor(type="user", id=None, label="alice@acme.test", role="responder")


def make_components(*slugs: str, public: bool = True) -> list[Component]:
    out = []
    for i, slug in enumerate(slugs):
        comp = Component(slug=slug, name=slug.replace("-", " ").title(), position=i, public=public,
                         status="operational", status_source="check", check_status="operational")
        db.session.add(comp)
        db.session.flush()
        open_initial_interval(comp, utcnow())
        out.append(comp)
    db.session.commit()
    return out


def make_check(comp: Component, slug: str = "probe", on_down: str = "major_outage") -> Check:
    check = Check(slug=slug, component_id=comp.id, kind="http", target="http://10.0.0.1/healthz",
                  spec={"id": slug, "kind": "http"}, interval_seconds=30, timeout_seconds=5,
                  on_down=on_down, status="down", state={},
                  last_result={"outcome": "down", "conditions": [
                      {"text": "[STATUS] (500) == 200", "success": False}]})
    db.session.add(check)
    db.session.commit()
    return check


def make_user(role: str = "responder", email: str | None = None):
    return create_user(email or f"{role}@acme.test", role, PASSWORD)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no csrf_token in the page"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp


def logged_in(client, role: str = "responder"):
    user = make_user(role)
    login(client, user.email)
    return user


def token_for(client, path: str = "/admin/") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))
