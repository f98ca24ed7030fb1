"""Importing accounts from a CRM export (CSV): columns recognised by name or mapped, every row reported.

Rows that fail validation are rejected with reasons; the others are saved (a partial import is useful
and says what it skipped). Accounts owned by the config file are never changed here.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from checks.validation import ErrorCollector

from ...configfile import parse_account
from ...extensions import db
from ...models import (
    Account,
)
from ..audit import Actor, record
from .records import ACCOUNT_FIELDS, account_to_dict, component_slugs, def_from_account, upsert_account_fields

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
            data = {**{k: v for k, v in def_from_account(acc).items() if k not in present}, **data}
        errors = ErrorCollector()
        adef = parse_account(data, "row", slugs, errors)
        for where, message in errors.problems:
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
