"""Signing in and CSRF tokens for console tests: one way to do each."""

from __future__ import annotations

import re

from statuspage.models import User

from .factories import PASSWORD, user

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1) or match.group(2)


def csrf_token(client, path: str = "/admin/") -> str:
    """Fetch a console page and return the CSRF token of its first form."""
    return csrf_from(client.get(path).get_data(as_text=True))


def login(client, who: User | str = "responder") -> User:
    """Sign ``who`` (a user, or a role to create a user for) in through the session, as the login form does."""
    u = who if isinstance(who, User) else user(who)
    with client.session_transaction() as sess:
        sess["_user_id"] = u.get_id()
        sess["_fresh"] = True
    return u


def login_with_password(client, email: str, password: str = PASSWORD):
    """Sign in through the real login form (for tests of the form and its bookkeeping)."""
    token = csrf_token(client, "/login")
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp
