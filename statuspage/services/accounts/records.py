"""Customer account records: read, create, update, archive — one validation for every source.

Accounts come from three places, told apart by ``Account.source``:

* ``config`` — the YAML file (``services.config_sync``); the file owns them, so the import, the API
  and the console refuse to change them (the next ``config apply`` would silently undo the change);
* ``import`` — ``statuspage accounts import FILE.csv`` (``accounts.csv_import``); ``config apply``
  never archives them;
* ``api`` — ``/api/v1/accounts`` and the console.

All validate with ``configfile.parse_account`` and write with :func:`upsert_account_fields`, so an
account means the same thing whichever way it arrived.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select

from checks.validation import ErrorCollector

from ...configfile import AccountDef, parse_account
from ...db import assign_changes, utcnow
from ...extensions import db
from ...models import (
    Account,
    AccountComponent,
    AccountContact,
    AccountTeamMember,
    Component,
)
from ...text import text_problem
from ..audit import Actor, record

ACCOUNT_FIELDS = ("id", "name", "arr", "tier", "renewal_date", "sla_target", "owner", "team", "components",
                  "contacts")


class AccountError(ValueError):
    """A request about accounts that cannot be honoured; ``fields`` maps a field to what is wrong."""

    def __init__(self, message: str, fields: dict[str, str] | None = None, *, code: str = "invalid"):
        super().__init__(message)
        self.fields = fields or {}
        self.code = code


def component_slugs() -> dict[str, Component]:
    """Live (not archived) components by slug: what an account may reference."""
    return {c.slug: c for c in db.session.scalars(select(Component).where(Component.archived_at.is_(None)))}


def get_account(external_id: str, *, include_archived: bool = False) -> Account | None:
    """The account with this external (CRM) id, or None."""
    acc = db.session.scalar(select(Account).where(Account.external_id == external_id))
    if acc is None or (acc.archived_at is not None and not include_archived):
        return None
    return acc


def accounts_query(*, owner: str | None = None, tier: str | None = None, query: str | None = None,
                   sort: str = "arr") -> Select:
    """Live accounts, filtered by owner email (owner or team member), tier or a name/id search, ordered.

    ``sort``: ``arr`` (largest first, the default), ``name``, ``renewal`` (soonest first).
    """
    stmt = select(Account).where(Account.archived_at.is_(None))
    if owner:
        owner = owner.strip().lower()
        team = select(AccountTeamMember.account_id).where(AccountTeamMember.email == owner)
        stmt = stmt.where(or_(Account.owner_email == owner, Account.id.in_(team)))
    if tier:
        stmt = stmt.where(Account.tier == tier)
    if query:
        like = f"%{query.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(Account.name).like(like), func.lower(Account.external_id).like(like)))
    order = {
        "name": (func.lower(Account.name), Account.id),
        "renewal": (Account.renewal_date.is_(None), Account.renewal_date, Account.id),
    }.get(sort, (Account.arr.desc(), func.lower(Account.name), Account.id))
    return stmt.order_by(*order)


def list_accounts(*, owner: str | None = None, tier: str | None = None, query: str | None = None,
                  sort: str = "arr") -> list[Account]:
    """Every account :func:`accounts_query` selects."""
    return list(db.session.scalars(accounts_query(owner=owner, tier=tier, query=query, sort=sort)))


def tiers() -> list[str]:
    """The tiers in use, for filters."""
    return [t for t in db.session.scalars(
        select(Account.tier).where(Account.archived_at.is_(None), Account.tier.is_not(None))
        .distinct().order_by(Account.tier))]


def account_to_dict(acc: Account) -> dict[str, Any]:
    """The JSON shape of an account (the same keys as the config file, plus source and timestamps)."""
    return {
        "id": acc.external_id,
        "name": acc.name,
        "arr": float(acc.arr or 0),
        "tier": acc.tier,
        "renewal_date": acc.renewal_date.isoformat() if acc.renewal_date else None,
        "sla_target": float(acc.sla_target) if acc.sla_target is not None else None,
        "owner": acc.owner_email,
        "team": [m.email for m in acc.team],
        "components": sorted(ac.component.slug for ac in acc.components),
        "contacts": [{"email": c.email, "name": c.name, "role": c.role, "notify": c.notify} for c in acc.contacts],
        "source": acc.source,
        "archived": acc.archived_at is not None,
        "updated_at": acc.updated_at.isoformat() if acc.updated_at else None,
    }


def def_from_account(acc: Account) -> dict[str, Any]:
    """The mapping parse_account accepts, describing ``acc`` as it is now."""
    out = account_to_dict(acc)
    for key in ("source", "archived", "updated_at"):
        out.pop(key)
    out["arr"] = str(acc.arr or 0)
    out["sla_target"] = str(acc.sla_target) if acc.sla_target is not None else None
    out["contacts"] = [{k: v for k, v in c.items() if v is not None} for c in out["contacts"]]
    return {k: v for k, v in out.items() if v is not None}


def _validate(data: dict[str, Any], components: dict[str, Component], path: str = "account") -> AccountDef:
    errors = ErrorCollector()
    adef = parse_account(data, path, set(components), errors)
    if adef is None or errors.errors:
        fields: dict[str, str] = {}
        for where, message in errors.problems:
            key = where[len(path) + 1:] if where.startswith(path + ".") else where
            fields.setdefault(key or "account", message)
        raise AccountError("invalid account: " + "; ".join(f"{k}: {v}" for k, v in fields.items()), fields)
    texts = [("name", adef.name), ("tier", adef.tier)]
    texts += [(f"contacts[{i}].name", c.name) for i, c in enumerate(adef.contacts)]
    for key, value in texts:
        problem = text_problem(value) if value else None
        if problem:
            raise AccountError(f"invalid account: {key}: {problem}", {key: problem})
    emails = [("owner", adef.owner)] + [(f"team[{i}]", e) for i, e in enumerate(adef.team)]
    emails += [(f"contacts[{i}].email", c.email) for i, c in enumerate(adef.contacts)]
    for key, value in emails:
        if value and (len(value) > 254 or text_problem(value)):
            raise AccountError(f"invalid account: {key}: not an email address", {key: "not an email address"})
    return adef


def create_account(data: dict[str, Any], *, actor: Actor, source: str = "api") -> Account:
    """Create an account from a config-shaped mapping; AccountError on invalid data or a taken id. Commits."""
    components = component_slugs()
    adef = _validate(data, components)
    existing = get_account(adef.id, include_archived=True)
    if existing is not None and existing.archived_at is None:
        raise AccountError(f"an account with id {adef.id!r} already exists", {"id": "already exists"},
                           code="conflict")
    if existing is not None and existing.source == "config":
        raise AccountError(f"account {adef.id!r} is managed by the config file", {"id": "managed by config"},
                           code="conflict")
    acc = existing or Account(external_id=adef.id, name=adef.name, source=source)
    if existing is None:
        db.session.add(acc)
    else:
        acc.source = source
    upsert_account_fields(acc, adef, components, source=source)
    db.session.flush()
    record(actor, "account.create", "account", acc.external_id, after=account_to_dict(acc))
    db.session.commit()
    return acc


def update_account(acc: Account, data: dict[str, Any], *, actor: Actor, partial: bool = True) -> set[str]:
    """Change an account; with ``partial`` only the keys given change. Returns the changed field names.

    The external id cannot change; accounts owned by the config file are read-only here. Commits.
    """
    if acc.source == "config":
        raise AccountError(f"account {acc.external_id!r} is managed by the config file; change it there",
                           {"id": "managed by config"}, code="conflict")
    if "id" in data and data["id"] != acc.external_id:
        raise AccountError("the id of an account cannot change", {"id": "cannot change"})
    unknown = set(data) - set(ACCOUNT_FIELDS)
    if unknown:
        raise AccountError(f"unknown fields: {', '.join(sorted(unknown))}", {k: "unknown field" for k in unknown})
    merged = {**def_from_account(acc), **data} if partial else {**data, "id": acc.external_id}
    merged = {k: v for k, v in merged.items() if v is not None}
    components = component_slugs()
    adef = _validate(merged, components)
    before = account_to_dict(acc)
    changed = upsert_account_fields(acc, adef, components, source=acc.source)
    db.session.flush()
    if changed:
        record(actor, "account.update", "account", acc.external_id, before=before, after=account_to_dict(acc))
    db.session.commit()
    return changed


def archive_account(acc: Account, *, actor: Actor) -> None:
    """Archive an account (history and outreach are kept); config-owned accounts are refused. Commits."""
    if acc.source == "config":
        raise AccountError(f"account {acc.external_id!r} is managed by the config file; remove it there",
                           {"id": "managed by config"}, code="conflict")
    if acc.archived_at is None:
        acc.archived_at = utcnow()
        record(actor, "account.archive", "account", acc.external_id)
        db.session.commit()


def contacts_of(account_ids: Sequence[int] | Any) -> dict[int, list[AccountContact]]:
    """Contacts by account id; ``account_ids`` may be a list or a select of ids."""
    out: dict[int, list[AccountContact]] = defaultdict(list)
    for c in db.session.scalars(select(AccountContact).where(AccountContact.account_id.in_(account_ids))
                                .order_by(AccountContact.id)):
        out[c.account_id].append(c)
    return out


def upsert_account_fields(acc: Account, adef: AccountDef, components: dict[str, Component], *,
                          source: str) -> set[str]:
    """Set an account's fields, components, team and contacts from `adef`; return the names that changed."""
    changed = set(assign_changes(acc, {
        "name": adef.name, "arr": adef.arr, "tier": adef.tier, "renewal_date": adef.renewal_date,
        "sla_target": adef.sla_target, "owner_email": adef.owner, "archived_at": None,
    }))
    # Locations come from the config file (or whoever names them); a CRM import that says nothing keeps them.
    if adef.locations or source == "config":
        changed |= set(assign_changes(acc, {"locations": list(adef.locations)}))
    if acc.id is None:
        acc.source = source
        db.session.flush()

    wanted_components = {components[c].id for c in adef.components if c in components}
    current = {ac.component_id: ac for ac in acc.components}
    if set(current) != wanted_components:
        changed.add("components")
        for cid, ac in current.items():
            if cid not in wanted_components:
                acc.components.remove(ac)
        for cid in wanted_components - set(current):
            acc.components.append(AccountComponent(component_id=cid))

    current_team = {m.email: m for m in acc.team}
    if set(current_team) != set(adef.team):
        changed.add("team")
        for email, m in current_team.items():
            if email not in adef.team:
                acc.team.remove(m)
        for email in adef.team:
            if email not in current_team:
                acc.team.append(AccountTeamMember(email=email))

    current_contacts = {c.email: c for c in acc.contacts}
    wanted_contacts = {c.email: c for c in adef.contacts}
    for email, contact in current_contacts.items():
        if email not in wanted_contacts:
            acc.contacts.remove(contact)
            changed.add("contacts")
    for email, cdef in wanted_contacts.items():
        contact = current_contacts.get(email)
        values = {"name": cdef.name, "role": cdef.role, "notify": cdef.notify}
        if contact is None:
            acc.contacts.append(AccountContact(email=email, **values))
            changed.add("contacts")
        elif assign_changes(contact, values):
            changed.add("contacts")
    return changed
