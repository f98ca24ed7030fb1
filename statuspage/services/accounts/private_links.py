"""Private status links: ``/a/<signed token>`` per account, revocable.

The token holds the account id and ``Account.view_token_version``; revoking bumps the version, so
every earlier link answers 410 Gone.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ...extensions import db
from ...models import (
    Account,
)
from ..audit import Actor, record

_VIEW_SALT = "statuspage.account-view"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_VIEW_SALT)


def account_view_token(acc: Account) -> str:
    """The signed token of an account's private status link (valid until revoked)."""
    return _serializer().dumps({"a": acc.id, "v": acc.view_token_version or 1})


class LinkRevoked(LookupError):
    """The link was valid once but has been revoked (the account's token version moved on)."""


def account_from_view_token(token: str) -> Account | None:
    """The account of a private link; None when the token is forged or the account is gone;
    LinkRevoked when the link has been revoked."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int) or not isinstance(data.get("v"), int):
        return None
    acc = db.session.get(Account, data["a"])
    if acc is None or acc.archived_at is not None:
        return None
    if data["v"] != (acc.view_token_version or 1):
        raise LinkRevoked(acc.external_id)
    return acc


def revoke_view_link(acc: Account, *, actor: Actor) -> None:
    """Invalidate every private link issued so far for this account (a new one replaces it)."""
    acc.view_token_version = (acc.view_token_version or 1) + 1
    record(actor, "account.view_link.revoke", "account", acc.external_id,
           after={"view_token_version": acc.view_token_version})
    db.session.commit()
