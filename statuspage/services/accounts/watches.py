"""Account managers following accounts: one account, or every account they own or are on the team of.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from ...extensions import db
from ...models import (
    Account,
    AccountTeamMember,
    AccountWatch,
    User,
)
from ..audit import Actor, record
from .records import AccountError


def watches_of(user: User) -> list[AccountWatch]:
    """A user's watches: the 'all my accounts' one (account_id None) and chosen accounts."""
    return list(db.session.scalars(select(AccountWatch).where(AccountWatch.user_id == user.id)))


def watch(user: User, account: Account | None, *, actor: Actor) -> AccountWatch:
    """Subscribe ``user`` to one account's digests, or with ``account=None`` to all accounts they own
    or are on the team of (matched by their login email). Only account managers and admins."""
    if user.role not in ("account_manager", "admin"):
        raise AccountError("only account managers can watch accounts", {"role": user.role}, code="forbidden")
    account_id = account.id if account is not None else None
    row = db.session.scalar(select(AccountWatch).where(
        AccountWatch.user_id == user.id,
        AccountWatch.account_id.is_(None) if account_id is None else AccountWatch.account_id == account_id))
    if row is None:
        row = AccountWatch(user_id=user.id, account_id=account_id, all_owned=account_id is None)
        db.session.add(row)
        db.session.flush()
        record(actor, "account.watch", "account", account.external_id if account else "*",
               after={"user": user.email})
        db.session.commit()
    return row


def unwatch(user: User, account: Account | None, *, actor: Actor) -> bool:
    """Remove a watch; returns whether there was one. Commits."""
    account_id = account.id if account is not None else None
    row = db.session.scalar(select(AccountWatch).where(
        AccountWatch.user_id == user.id,
        AccountWatch.account_id.is_(None) if account_id is None else AccountWatch.account_id == account_id))
    if row is None:
        return False
    db.session.delete(row)
    record(actor, "account.unwatch", "account", account.external_id if account else "*",
           before={"user": user.email})
    db.session.commit()
    return True


def watcher_emails(account_ids: Sequence[int]) -> dict[int, set[str]]:
    """Account id → login emails of active account managers (and admins) watching it."""
    out: dict[int, set[str]] = defaultdict(set)
    if not account_ids:
        return out
    ids = set(account_ids)
    rows = db.session.execute(
        select(AccountWatch.account_id, AccountWatch.all_owned, User.email)
        .join(User, User.id == AccountWatch.user_id)
        .where(User.disabled_at.is_(None), User.role.in_(("account_manager", "admin")))).all()
    all_owned = {email.lower() for account_id, all_flag, email in rows if account_id is None or all_flag}
    for account_id, _all_flag, email in rows:
        if account_id is not None and account_id in ids:
            out[account_id].add(email.lower())
    if all_owned:
        owned = db.session.execute(select(Account.id, Account.owner_email).where(
            Account.id.in_(ids), Account.owner_email.in_(all_owned))).all()
        for account_id, email in owned:
            out[account_id].add(email)
        for account_id, email in db.session.execute(select(AccountTeamMember.account_id, AccountTeamMember.email)
                                                    .where(AccountTeamMember.account_id.in_(ids),
                                                           AccountTeamMember.email.in_(all_owned))):
            out[account_id].add(email)
    return out
