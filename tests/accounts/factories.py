"""Factories for account tests: accounts, users and a logged-in client, on top of the public-site factories.

Incidents, updates and maintenance are written directly as models (the incident service is another
area's); our own functions are then called the way the incident service will call them.
"""

from __future__ import annotations

from decimal import Decimal

from statuspage.extensions import db
from statuspage.models import Account, AccountComponent, AccountContact, AccountTeamMember, Component, User
from tests.public.factories import (  # noqa: F401  (re-exported for the tests)
    T,
    component,
    incident,
    interval,
    maintenance,
    page,
    postmortem,
    timeline,
    update,
)


def account(external_id: str, name: str, *, components: list[Component] = (), arr: float = 0,
            tier: str | None = None, renewal_date=None, sla_target: float | None = None, owner: str | None = None,
            team: list[str] = (), contacts: list[tuple[str, str]] = (), source: str = "api") -> Account:
    """An account; ``contacts`` are (email, notify) pairs."""
    acc = Account(external_id=external_id, name=name, arr=Decimal(str(arr)), tier=tier, renewal_date=renewal_date,
                  sla_target=Decimal(str(sla_target)) if sla_target is not None else None, owner_email=owner,
                  source=source)
    db.session.add(acc)
    db.session.flush()
    for c in components:
        db.session.add(AccountComponent(account_id=acc.id, component_id=c.id))
    for email in team:
        db.session.add(AccountTeamMember(account_id=acc.id, email=email))
    for email, notify in contacts:
        db.session.add(AccountContact(account_id=acc.id, email=email, name=email.split("@")[0].title(),
                                      notify=notify))
    db.session.flush()
    db.session.expire(acc)
    return acc


_HASH = None


def user(email: str, role: str) -> User:
    global _HASH
    from statuspage.services.users import hash_password

    if _HASH is None:
        _HASH = hash_password("correct horse battery")
    u = User(email=email, role=role, password_hash=_HASH)
    db.session.add(u)
    db.session.flush()
    return u


def login(client, u: User) -> None:
    """Log a user in through Flask-Login's session keys (the login form is the console's)."""
    with client.session_transaction() as sess:
        sess["_user_id"] = u.get_id()
        sess["_fresh"] = True


def csrf_token(client, path: str) -> str:
    """Fetch a console page and return the CSRF token of its first form."""
    import re

    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, f"no form with a CSRF token on {path}"
    return m.group(1)
