"""Customer accounts: CRUD, the CRM import, who an incident hurts, outreach, watches, private links.

Accounts come from three places, told apart by ``Account.source``:

* ``config`` — the YAML file (``services.config_sync``); the file owns them, so the import and the API
  refuse to change them (the next ``config apply`` would silently undo the change);
* ``import`` — ``statuspage accounts import FILE.csv``; ``config apply`` never archives them;
* ``api`` — ``/api/v1/accounts`` and the console.

All three validate with ``configfile.parse_account`` and write with ``config_sync.upsert_account_fields``,
so an account means the same thing whichever way it arrived.

Impact of an incident (:func:`incident_impact`): the accounts that use any component the incident affects
(``IncidentComponent``), with their ARR, tier, renewal date, owner and team, and each account's *outage
minutes so far*: the minutes since the incident started (until it was resolved, or now) during which at
least one of the account's affected components was in ``major_outage`` or ``partial_outage``, from the
components' status intervals. Overlapping outages of two components count once; degraded performance and
maintenance do not count.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, or_, select

from ..configfile import AccountDef, ContactDef, _Collector, parse_account
from ..db import utcnow
from ..extensions import db
from ..models import (
    Account,
    AccountComponent,
    AccountContact,
    AccountOutreach,
    AccountTeamMember,
    AccountWatch,
    Component,
    Incident,
    IncidentComponent,
    User,
)
from ..models.constants import CONTACT_NOTIFY, STATUS_SEVERITY
from .audit import Actor, record
from .config_sync import upsert_account_fields

OUTAGE_STATUSES = ("major_outage", "partial_outage")
ACCOUNT_FIELDS = ("id", "name", "arr", "tier", "renewal_date", "sla_target", "owner", "team", "components",
                  "contacts")


class AccountError(ValueError):
    """A request about accounts that cannot be honoured; ``fields`` maps a field to what is wrong."""

    def __init__(self, message: str, fields: dict[str, str] | None = None, *, code: str = "invalid"):
        super().__init__(message)
        self.fields = fields or {}
        self.code = code


# --- reading ------------------------------------------------------------------------------------------


def component_slugs() -> dict[str, Component]:
    """Live (not archived) components by slug: what an account may reference."""
    return {c.slug: c for c in db.session.scalars(select(Component).where(Component.archived_at.is_(None)))}


def get_account(external_id: str, *, include_archived: bool = False) -> Account | None:
    """The account with this external (CRM) id, or None."""
    acc = db.session.scalar(select(Account).where(Account.external_id == external_id))
    if acc is None or (acc.archived_at is not None and not include_archived):
        return None
    return acc


def list_accounts(*, owner: str | None = None, tier: str | None = None, query: str | None = None,
                  sort: str = "arr") -> list[Account]:
    """Live accounts, filtered by owner email (owner or team member), tier or a name/id search.

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
    return list(db.session.scalars(stmt.order_by(*order)))


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


def _def_from_account(acc: Account) -> dict[str, Any]:
    """The mapping parse_account accepts, describing ``acc`` as it is now."""
    out = account_to_dict(acc)
    for key in ("source", "archived", "updated_at"):
        out.pop(key)
    out["arr"] = str(acc.arr or 0)
    out["sla_target"] = str(acc.sla_target) if acc.sla_target is not None else None
    out["contacts"] = [{k: v for k, v in c.items() if v is not None} for c in out["contacts"]]
    return {k: v for k, v in out.items() if v is not None}


def _validate(data: dict[str, Any], components: dict[str, Component], path: str = "account") -> AccountDef:
    errors = _Collector()
    adef = parse_account(data, path, set(components), errors)
    if adef is None or errors.errors:
        fields = {}
        for line in errors.errors:
            where, _, message = line.partition(": ")
            key = where[len(path) + 1:] if where.startswith(path + ".") else where
            fields[key or "account"] = message
        raise AccountError("invalid account: " + "; ".join(f"{k}: {v}" for k, v in fields.items()), fields)
    return adef


# --- writing (API and console) -----------------------------------------------------------------------------


def create_account(data: dict[str, Any], *, actor: Actor, source: str = "api") -> Account:
    """Create an account from a config-shaped mapping; AccountError on invalid data or a taken id."""
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
    return acc


def update_account(acc: Account, data: dict[str, Any], *, actor: Actor, partial: bool = True) -> set[str]:
    """Change an account; with ``partial`` only the keys given change. Returns the changed field names.

    The external id cannot change; accounts owned by the config file are read-only here.
    """
    if acc.source == "config":
        raise AccountError(f"account {acc.external_id!r} is managed by the config file; change it there",
                           {"id": "managed by config"}, code="conflict")
    if "id" in data and data["id"] != acc.external_id:
        raise AccountError("the id of an account cannot change", {"id": "cannot change"})
    unknown = set(data) - set(ACCOUNT_FIELDS)
    if unknown:
        raise AccountError(f"unknown fields: {', '.join(sorted(unknown))}", {k: "unknown field" for k in unknown})
    merged = {**_def_from_account(acc), **data} if partial else {**data, "id": acc.external_id}
    merged = {k: v for k, v in merged.items() if v is not None}
    components = component_slugs()
    adef = _validate(merged, components)
    before = account_to_dict(acc)
    changed = upsert_account_fields(acc, adef, components, source=acc.source)
    db.session.flush()
    if changed:
        record(actor, "account.update", "account", acc.external_id, before=before, after=account_to_dict(acc))
    return changed


def archive_account(acc: Account, *, actor: Actor) -> None:
    """Archive an account (history and outreach are kept); config-owned accounts are refused."""
    if acc.source == "config":
        raise AccountError(f"account {acc.external_id!r} is managed by the config file; remove it there",
                           {"id": "managed by config"}, code="conflict")
    if acc.archived_at is None:
        acc.archived_at = utcnow()
        record(actor, "account.archive", "account", acc.external_id)


# --- CSV import ----------------------------------------------------------------------------------------

# Header (case- and space-insensitive) → account field, for the exports of common CRMs (Salesforce,
# HubSpot, Pipedrive) and for files written by hand with the config file's own key names.
DEFAULT_COLUMNS: dict[str, str] = {
    "id": "id", "account id": "id", "account_id": "id", "external id": "id", "crm id": "id",
    "account number": "id", "record id": "id", "company id": "id",
    "name": "name", "account name": "name", "account_name": "name", "company": "name", "company name": "name",
    "arr": "arr", "annual revenue": "arr", "annual recurring revenue": "arr", "annualrevenue": "arr",
    "tier": "tier", "account tier": "tier", "segment": "tier", "type": "tier",
    "renewal date": "renewal_date", "renewal_date": "renewal_date", "renewal": "renewal_date",
    "contract end date": "renewal_date",
    "sla": "sla_target", "sla target": "sla_target", "sla_target": "sla_target",
    "owner": "owner", "owner email": "owner", "account owner email": "owner", "owner_email": "owner",
    "team": "team", "team emails": "team", "account team": "team",
    "components": "components", "services": "components",
    "contacts": "contacts",
}
MAX_IMPORT_ROWS = 200_000


@dataclass
class ImportRow:
    line: int  # line number in the file (the header is line 1)
    account_id: str | None
    outcome: str  # created | updated | unchanged | rejected
    reasons: list[str] = field(default_factory=list)  # why rejected, or what changed


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # csv header → field
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def rejected(self) -> list[ImportRow]:
        return [r for r in self.rows if r.outcome == "rejected"]

    def summary(self) -> str:
        lines = []
        for r in self.rows:
            if r.outcome == "rejected":
                lines.append(f"  line {r.line}: rejected {r.account_id or '(no id)'}: {'; '.join(r.reasons)}")
            elif r.outcome in ("created", "updated"):
                detail = f" ({', '.join(r.reasons)})" if r.reasons else ""
                lines.append(f"  line {r.line}: {r.outcome} {r.account_id}{detail}")
        lines.append(f"{self.count('created')} created, {self.count('updated')} updated, "
                     f"{self.count('unchanged')} unchanged, {self.count('rejected')} rejected"
                     + (" (dry run: nothing saved)." if self.dry_run else "."))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.count("created"), "updated": self.count("updated"),
                "unchanged": self.count("unchanged"), "rejected": self.count("rejected"),
                "rows": [{"line": r.line, "id": r.account_id, "outcome": r.outcome, "reasons": r.reasons}
                         for r in self.rows if r.outcome != "unchanged"]}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (no id column, unreadable, bad mapping)."""


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """``["Acct #=id", "Revenue=arr"]`` → {"acct #": "id", ...}; ImportFileError on a bad pair."""
    out = {}
    for pair in pairs:
        column, sep, target = pair.rpartition("=")
        target = target.strip()
        if not sep or not column.strip():
            raise ImportFileError(f"--map expects CSVCOLUMN=FIELD, got {pair!r}")
        if target not in ACCOUNT_FIELDS and target != "-":
            raise ImportFileError(f"--map {pair!r}: unknown field {target!r} "
                                  f"(one of {', '.join(ACCOUNT_FIELDS)}, or - to ignore the column)")
        out[_norm(column)] = target
    return out


def _norm(header: str) -> str:
    return re.sub(r"\s+", " ", header.replace("\ufeff", "").strip().lower())


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(";") if p.strip()]


def _contacts(value: str) -> tuple[list[dict[str, str]], list[str]]:
    """``email:name:notify;email2::major`` → contact mappings, and the problems found."""
    out, problems = [], []
    for part in _split(value):
        bits = [b.strip() for b in part.split(":")]
        if len(bits) > 3:
            problems.append(f"contact {part!r}: expected email:name:notify")
            continue
        contact = {"email": bits[0]}
        if len(bits) > 1 and bits[1]:
            contact["name"] = bits[1]
        if len(bits) > 2 and bits[2]:
            contact["notify"] = bits[2].lower()
        out.append(contact)
    return out, problems


_CURRENCY = re.compile(r"^\s*(?:[$€£¥]|USD|EUR|GBP)\s*|\s*(?:USD|EUR|GBP)\s*$", re.IGNORECASE)


def _row_to_mapping(raw: dict[str, str], columns: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    data: dict[str, Any] = {}
    problems: list[str] = []
    for header, target in columns.items():
        value = (raw.get(header) or "").strip()
        if target == "-" or value == "":
            continue
        if target in ("team", "components"):
            data[target] = _split(value)
        elif target == "contacts":
            data["contacts"], bad = _contacts(value)
            problems += bad
        elif target in ("arr", "sla_target"):
            data[target] = _CURRENCY.sub("", value).rstrip("%").strip()
        else:
            data[target] = value
    return data, problems


def _friendly(field_path: str, message: str) -> str:
    if field_path in ("id", "account") and "required" in message:
        return "missing id"
    return f"{field_path}: {message}"


def import_accounts_csv(text: str, *, mapping: dict[str, str] | None = None, actor: Actor | None = None,
                        dry_run: bool = False, delimiter: str = ",") -> ImportReport:
    """Import or update accounts from a CRM export; one bad row never blocks the others.

    Columns are matched by :data:`DEFAULT_COLUMNS` (case-insensitive) unless ``mapping`` (normalised
    header → field, ``-`` to ignore) says otherwise. Components and team are ``;``-separated; contacts
    are ``email:name:notify;...``. A row whose id exists updates that account (only the fields that the
    file has columns for); rows are reported created / updated / unchanged / rejected with reasons.
    Accounts created here get ``source="import"``; rows naming an account owned by the config file are
    rejected. Commits (or, with ``dry_run``, rolls back) at the end; raises ImportFileError when the
    file as a whole is unusable.
    """
    actor = actor or Actor.cli()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    headers = reader.fieldnames or []
    if not headers:
        raise ImportFileError("the file is empty (no header line)")
    mapping = mapping or {}
    report = ImportReport(dry_run=dry_run)
    seen_fields: dict[str, str] = {}
    for header in headers:
        target = mapping.get(_norm(header)) or DEFAULT_COLUMNS.get(_norm(header))
        if target is None or target == "-":
            report.ignored_columns.append(header)
            continue
        if target in seen_fields:
            raise ImportFileError(f"columns {seen_fields[target]!r} and {header!r} both map to {target}; "
                                  f"ignore one with --map '{header}=-'")
        seen_fields[target] = header
        report.columns[header] = target
    for wanted in ("id", "name"):
        if wanted not in seen_fields:
            raise ImportFileError(f"no column for the account {wanted}: map one with --map 'COLUMN={wanted}' "
                                  f"(columns: {', '.join(headers)})")
    present = set(seen_fields.values())
    components = component_slugs()
    slugs = set(components)
    existing = {a.external_id: a for a in db.session.scalars(select(Account))}
    first_line: dict[str, int] = {}

    for n, raw in enumerate(reader, start=2):
        if n - 1 > MAX_IMPORT_ROWS:
            raise ImportFileError(f"more than {MAX_IMPORT_ROWS} rows; split the file")
        if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue  # blank line
        data, problems = _row_to_mapping(raw, report.columns)
        aid = data.get("id")
        row = ImportRow(line=n, account_id=aid, outcome="rejected")
        report.rows.append(row)
        if aid and aid in first_line:
            row.reasons.append(f"duplicate id {aid!r} (first on line {first_line[aid]})")
            continue
        if aid:
            first_line[aid] = n
        acc = existing.get(aid) if aid else None
        if acc is not None and acc.source == "config":
            row.reasons.append("managed by the config file (change it there)")
            continue
        if acc is not None:
            # Fields the file has no column for keep their current value.
            data = {**{k: v for k, v in _def_from_account(acc).items() if k not in present}, **data}
        errors = _Collector()
        adef = parse_account(data, "row", slugs, errors)
        for line in errors.errors:
            where, _, message = line.partition(": ")
            row.reasons.append(_friendly(where[4:] if where.startswith("row.") else where, message))
        row.reasons += problems
        if adef is None or row.reasons:
            if not row.reasons:
                row.reasons.append("missing id" if not aid else "missing name")
            continue
        try:
            with db.session.begin_nested():
                created = acc is None
                if created:
                    acc = Account(external_id=adef.id, name=adef.name, source="import")
                    db.session.add(acc)
                was_archived = acc.archived_at is not None
                before = None if created else account_to_dict(acc)
                changed = upsert_account_fields(acc, adef, components, source="import")
                db.session.flush()
        except Exception as exc:  # noqa: BLE001 - a database refusal rejects this row only
            row.reasons.append(f"could not be saved: {exc.__class__.__name__}")
            acc = existing.get(aid)
            continue
        existing[adef.id] = acc
        if created:
            row.outcome = "created"
            record(actor, "account.import", "account", adef.id, after=account_to_dict(acc))
        elif changed:
            row.outcome = "updated"
            row.reasons = sorted(changed - {"archived_at"}) + (["restored"] if was_archived else [])
            record(actor, "account.import", "account", adef.id, before=before, after=account_to_dict(acc))
        else:
            row.outcome = "unchanged"
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return report


# --- impact of an incident -------------------------------------------------------------------------------


@dataclass
class AffectedAccount:
    """One account hurt by an incident, with what the account team needs to call it."""

    id: int
    external_id: str
    name: str
    arr: Decimal
    tier: str | None
    renewal_date: dt.date | None
    sla_target: Decimal | None
    owner: str | None
    team: list[str]
    component_ids: list[int]
    components: list[str]  # names of the affected components it uses
    worst_status: str  # the worst status the incident sets on those components
    outage_minutes: float

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.external_id, "name": self.name, "arr": float(self.arr), "tier": self.tier,
                "renewal_date": self.renewal_date.isoformat() if self.renewal_date else None,
                "sla_target": float(self.sla_target) if self.sla_target is not None else None,
                "owner": self.owner, "team": self.team, "components": self.components,
                "worst_status": self.worst_status, "outage_minutes": round(self.outage_minutes, 2)}


@dataclass
class Impact:
    incident_id: int
    since: dt.datetime
    until: dt.datetime
    accounts: list[AffectedAccount]

    @property
    def total_arr(self) -> Decimal:
        return sum((a.arr for a in self.accounts), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "accounts": [a.to_dict() for a in self.accounts], "account_count": len(self.accounts),
                "total_arr_at_risk": float(self.total_arr),
                "outage_minutes_definition": OUTAGE_DEFINITION}


OUTAGE_DEFINITION = ("Minutes since the incident started (until it was resolved, or now) during which at least "
                     "one of the account's affected components was in major or partial outage; overlaps count "
                     "once, degraded performance and maintenance do not count.")


def incident_start(incident: Incident) -> dt.datetime:
    """When an incident began, for impact: started_at, else when it was published or created."""
    return incident.started_at or incident.scheduled_for or incident.published_at or incident.created_at


def _union_seconds(segments: Iterable[tuple[dt.datetime, dt.datetime]]) -> float:
    total = 0.0
    cur_s = cur_e = None
    for s, e in sorted(segments):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += (cur_e - cur_s).total_seconds()
            cur_s, cur_e = s, e
        elif e > cur_e:
            cur_e = e
    if cur_e is not None:
        total += (cur_e - cur_s).total_seconds()
    return total


def incident_impact(incident: Incident, now: dt.datetime | None = None) -> Impact:
    """The accounts an incident (or maintenance) touches, largest ARR first, with outage minutes so far.

    Four queries whatever the number of accounts: the incident's components, the accounts using them,
    their team members, and the components' status intervals since the incident started.
    """
    from .uptime import _load_segments  # the interval loader shared with uptime and the SLA report

    now = now or utcnow()
    since = incident_start(incident)
    until = min(now, incident.resolved_at) if incident.resolved_at else now
    until = max(until, since)
    inc_components = dict(db.session.execute(
        select(IncidentComponent.component_id, IncidentComponent.status)
        .where(IncidentComponent.incident_id == incident.id)).all())
    if not inc_components:
        return Impact(incident.id, since, until, [])
    comp_ids = list(inc_components)
    names = dict(db.session.execute(select(Component.id, Component.name).where(Component.id.in_(comp_ids))).all())

    # Core rows on the session's connection: no ORM row processing for what can be 10^5 rows.
    conn = db.session.connection()
    affected_ids = (select(AccountComponent.account_id).where(AccountComponent.component_id.in_(comp_ids))
                    .distinct())
    links: dict[int, list[int]] = defaultdict(list)
    for account_id, component_id in conn.execute(
            select(AccountComponent.account_id, AccountComponent.component_id)
            .where(AccountComponent.component_id.in_(comp_ids))):
        links[account_id].append(component_id)
    account_rows = conn.execute(
        select(Account.id, Account.external_id, Account.name, Account.arr, Account.tier, Account.renewal_date,
               Account.sla_target, Account.owner_email)
        .where(Account.id.in_(affected_ids), Account.archived_at.is_(None))).all()
    if not account_rows:
        return Impact(incident.id, since, until, [])
    team: dict[int, list[str]] = defaultdict(list)
    for account_id, email in conn.execute(
            select(AccountTeamMember.account_id, AccountTeamMember.email)
            .where(AccountTeamMember.account_id.in_(affected_ids)).order_by(AccountTeamMember.id)):
        team[account_id].append(email)

    segments = _load_segments(comp_ids, since, until, now)
    outages = {cid: [(s, e) for s, e, status in segs if status in OUTAGE_STATUSES]
               for cid, segs in segments.items()}
    # Many accounts share one set of affected components: compute its figures once.
    per_set: dict[tuple[int, ...], tuple[list[int], list[str], str, float]] = {}
    accounts = []
    for row in account_rows:
        key = tuple(sorted(set(links[row.id])))
        figures = per_set.get(key)
        if figures is None:
            cids = list(key)
            minutes = _union_seconds(seg for cid in cids for seg in outages[cid]) / 60
            worst = max((inc_components[c] for c in cids), key=lambda s: STATUS_SEVERITY.get(s, 0))
            figures = per_set[key] = (cids, sorted(names[c] for c in cids), worst, minutes)
        cids, comp_names, worst, minutes = figures
        accounts.append(AffectedAccount(
            id=row.id, external_id=row.external_id, name=row.name, arr=Decimal(row.arr or 0), tier=row.tier,
            renewal_date=row.renewal_date, sla_target=row.sla_target, owner=row.owner_email,
            team=team.get(row.id, []), component_ids=cids, components=comp_names,
            worst_status=worst, outage_minutes=minutes))
    accounts.sort(key=lambda a: (-a.arr, a.name.lower(), a.external_id))
    return Impact(incident.id, since, until, accounts)


def affected_accounts(incident: Incident, now: dt.datetime | None = None) -> list[AffectedAccount]:
    """The accounts using any component the incident affects (see :func:`incident_impact`)."""
    return incident_impact(incident, now).accounts


def get_incident(public_id: str) -> Incident | None:
    """An incident or maintenance by public id (drafts included: the console sees them)."""
    return db.session.scalar(select(Incident).where(Incident.public_id == public_id))


# --- outreach ------------------------------------------------------------------------------------------

OUTREACH_ACTIONS = {"contacted": "contacted_at", "rca_sent": "rca_sent_at", "acknowledged": "acknowledged_at"}


def outreach_for(incident: Incident) -> dict[int, AccountOutreach]:
    """Outreach rows of an incident by account id."""
    return {o.account_id: o for o in db.session.scalars(
        select(AccountOutreach).where(AccountOutreach.incident_id == incident.id))}


def _outreach_row(incident: Incident, account: Account) -> AccountOutreach:
    row = db.session.scalar(select(AccountOutreach).where(AccountOutreach.incident_id == incident.id,
                                                          AccountOutreach.account_id == account.id))
    if row is None:
        row = AccountOutreach(incident_id=incident.id, account_id=account.id)
        db.session.add(row)
    return row


def record_outreach(incident: Incident, account: Account, action: str, *, actor: Actor, done: bool = True,
                    note: str | None = None, now: dt.datetime | None = None) -> AccountOutreach:
    """Mark (or with ``done=False`` clear) contacted / rca_sent / acknowledged for one account; audited."""
    if action not in OUTREACH_ACTIONS:
        raise AccountError(f"unknown outreach action {action!r}", {"action": "unknown"})
    if note is not None and len(note) > 1000:
        raise AccountError("note is too long (1000 characters at most)", {"note": "too long"})
    now = now or utcnow()
    row = _outreach_row(incident, account)
    column = OUTREACH_ACTIONS[action]
    before = getattr(row, column)
    value = (before or now) if done else None
    setattr(row, column, value)
    if note is not None:
        row.note = note.strip() or None
    row.updated_by = actor.label
    row.updated_at = now
    db.session.flush()
    record(actor, f"account.outreach.{action}" + ("" if done else ".clear"), "account_outreach",
           f"{incident.public_id}:{account.external_id}", before={column: before}, after={column: value,
                                                                                        "note": row.note})
    return row


def send_postmortem_to_accounts(incident: Incident, *, actor: Actor, now: dt.datetime | None = None) -> int:
    """Email the public sections of the published postmortem to the contacts of the affected accounts.

    Contacts with notify ``none`` are skipped. Records ``rca_sent_at`` for every affected account that
    has at least one recipient; idempotent (a second call enqueues nothing new). Returns the number of
    outbox rows written. AccountError when there is no published postmortem with public sections.
    """
    from .account_notify import enqueue_postmortem

    now = now or utcnow()
    pm = incident.postmortem
    if pm is None or pm.published_at is None:
        raise AccountError("the postmortem is not published yet", {"postmortem": "not published"},
                           code="conflict")
    sections = [s for s in (pm.sections or []) if s.get("public")]
    if not sections:
        raise AccountError("the postmortem has no public sections", {"postmortem": "no public sections"},
                           code="conflict")
    impact = incident_impact(incident, now)
    written, reached = enqueue_postmortem(incident, pm, sections, impact)
    for acc in db.session.scalars(select(Account).where(Account.id.in_(reached))) if reached else []:
        row = _outreach_row(incident, acc)
        if row.rca_sent_at is None:
            row.rca_sent_at = now
            row.updated_by = actor.label
            row.updated_at = now
    record(actor, "account.postmortem.send", "incident", incident.public_id,
           after={"accounts": len(reached), "messages": written})
    db.session.flush()
    return written


# --- watches (account managers' console subscriptions) ---------------------------------------------------


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
    return row


def unwatch(user: User, account: Account | None, *, actor: Actor) -> bool:
    """Remove a watch; returns whether there was one."""
    account_id = account.id if account is not None else None
    row = db.session.scalar(select(AccountWatch).where(
        AccountWatch.user_id == user.id,
        AccountWatch.account_id.is_(None) if account_id is None else AccountWatch.account_id == account_id))
    if row is None:
        return False
    db.session.delete(row)
    record(actor, "account.unwatch", "account", account.external_id if account else "*",
           before={"user": user.email})
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


# --- private status link ------------------------------------------------------------------------------

_VIEW_SALT = "statuspage.account-view"


def _serializer() -> URLSafeSerializer:
    from flask import current_app

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


# --- small helpers for other modules ------------------------------------------------------------------


def contacts_of(account_ids: Sequence[int] | Any) -> dict[int, list[AccountContact]]:
    """Contacts by account id; ``account_ids`` may be a list or a select of ids."""
    out: dict[int, list[AccountContact]] = defaultdict(list)
    for c in db.session.scalars(select(AccountContact).where(AccountContact.account_id.in_(account_ids))
                                .order_by(AccountContact.id)):
        out[c.account_id].append(c)
    return out


__all__ = [
    "AccountError", "AffectedAccount", "CONTACT_NOTIFY", "ContactDef", "Impact", "ImportFileError", "ImportReport",
    "LinkRevoked", "account_from_view_token", "account_to_dict", "account_view_token", "affected_accounts",
    "archive_account", "create_account", "get_account", "import_accounts_csv", "incident_impact", "list_accounts",
    "parse_mapping", "record_outreach", "revoke_view_link", "send_postmortem_to_accounts", "unwatch",
    "update_account", "watch", "watcher_emails",
]
