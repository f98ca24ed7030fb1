"""Reconcile the database with a validated configuration file, idempotently.

Creates and updates what the file describes and archives what it no longer does (history is never
deleted). A second apply of the same file changes nothing and reports no changes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..configfile import AccountDef, ConfigDoc
from ..db import assign_changes, utcnow
from ..extensions import db
from ..models import (
    Account,
    Check,
    Component,
    ComponentGroup,
)
from .accounts.records import upsert_account_fields
from .audit import Actor, record
from .incidents.status import open_initial_interval
from .monitoring.locations import ensure_locations, local_location
from .monitoring.schedule import next_slot_after, run_interval
from .page import bump_site_version, get_page


@dataclass
class ChangeReport:
    """What an apply did, per kind of object."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.archived)

    def summary(self) -> str:
        if not self.changed:
            return f"No changes ({self.unchanged} objects up to date)."
        lines = []
        for label, items in (("created", self.created), ("updated", self.updated), ("archived", self.archived)):
            for item in items:
                lines.append(f"  {label:9} {item}")
        lines.append(f"{len(self.created)} created, {len(self.updated)} updated, {len(self.archived)} archived, "
                     f"{self.unchanged} unchanged.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "archived": self.archived,
                "unchanged": self.unchanged}


def apply_config(doc: ConfigDoc, actor: Actor | None = None) -> ChangeReport:
    """Make the database match `doc` in one transaction and return what changed."""
    actor = actor or Actor.cli()
    report = ChangeReport()
    public_change = False
    now = utcnow()

    page = get_page()
    settings = dict(page.settings or {})
    new_settings = {**settings, "currency": doc.page.currency, "sla_credits": doc.sla_credits,
                    "sla_min_coverage_percent": doc.sla_min_coverage_percent,
                    "cause_categories": doc.cause_categories}
    page_changes = assign_changes(page, {
        "name": doc.page.name, "url": doc.page.url, "time_zone": doc.page.time_zone,
        "on_call": doc.page.on_call, "partial_outage_weight": doc.page.partial_outage_weight,
        "degraded_weight": doc.page.degraded_weight,
    })
    if new_settings != settings:
        page.settings = new_settings
        page_changes["settings"] = (settings, new_settings)
    if page_changes:
        report.updated.append("page")
        public_change = True
    else:
        report.unchanged += 1

    # Groups
    groups = {g.slug: g for g in db.session.scalars(select(ComponentGroup))}
    for position, gdef in enumerate(doc.groups):
        group = groups.get(gdef.id)
        values = {"name": gdef.name, "description": gdef.description, "position": position, "archived_at": None,
                  "source": "config"}
        if group is None:
            group = ComponentGroup(slug=gdef.id, **values)
            db.session.add(group)
            groups[gdef.id] = group
            report.created.append(f"group {gdef.id}")
            public_change = True
        elif assign_changes(group, values):
            report.updated.append(f"group {gdef.id}")
            public_change = True
        else:
            report.unchanged += 1
    wanted_groups = {g.id for g in doc.groups}
    for slug, group in groups.items():
        # Only what the file owns; groups made through the API or an import are not the file's to archive.
        if slug not in wanted_groups and group.archived_at is None and group.source == "config":
            group.archived_at = now
            report.archived.append(f"group {slug}")
            public_change = True
    db.session.flush()

    # Probe locations: those the file declares (names, staleness limits) and those its checks name.
    local = local_location()
    declared = {d.id: {"name": d.name, "stale_after": d.stale_after} for d in doc.locations or []}
    ensure_locations({name for c in doc.components for s in c.checks for name in s.locations}, defined=declared)

    # Components and their checks
    components = {c.slug: c for c in db.session.scalars(select(Component))}
    checks = {c.slug: c for c in db.session.scalars(select(Check))}
    for position, cdef in enumerate(doc.components):
        comp = components.get(cdef.id)
        values = {
            "name": cdef.name, "description": cdef.description, "position": position,
            "group_id": groups[cdef.group].id if cdef.group else None, "public": cdef.public,
            "showcase": cdef.showcase, "only_show_if_degraded": cdef.only_show_if_degraded,
            "auto_incident": cdef.auto_incident,
            "auto_resolve_after": int(cdef.auto_resolve_after) if cdef.auto_resolve_after is not None else None,
            "start_date": cdef.start_date, "archived_at": None, "source": "config",
        }
        if comp is None:
            comp = Component(slug=cdef.id, status="operational", status_source="check",
                             check_status="operational", **values)
            if comp.start_date is None:  # a local date of the page's zone, like every date people read
                comp.start_date = now.astimezone(page.tz).date()
            db.session.add(comp)
            db.session.flush()
            components[cdef.id] = comp
            report.created.append(f"component {cdef.id}")
            public_change = True
            open_initial_interval(comp, now)
        else:
            if cdef.start_date is None:
                values.pop("start_date")
            changes = assign_changes(comp, values)
            if changes:
                report.updated.append(f"component {cdef.id} ({', '.join(sorted(changes))})")
                public_change = True
            else:
                report.unchanged += 1
        for spec in cdef.checks:
            spec_dict = spec.to_dict()
            check = checks.get(spec.id)
            values = {
                "component_id": comp.id, "kind": spec.kind, "target": spec.target() or None,
                "spec": spec_dict, "interval_seconds": float(spec.interval),
                "timeout_seconds": float(spec.timeout), "failure_threshold": spec.failure_threshold,
                "success_threshold": spec.success_threshold, "on_down": spec.on_down, "archived_at": None,
                "locations": list(spec.locations), "quorum": spec.effective_quorum(), "on_partial": spec.on_partial,
                "probe_local": spec.kind == "heartbeat" or not spec.locations or local in spec.locations,
            }
            if not spec.locations or list(spec.locations) == [local]:
                # Back to the local worker alone: what the quorum said no longer applies.
                values.update(monitoring_delayed=False, partial_failures=None, status_reason=None)
            if check is None:
                check = Check(slug=spec.id, status="unknown", state={}, **values)
                check.next_run_at = next_slot_after(spec.id, run_interval(spec.kind, float(spec.interval)), now) \
                    if values["probe_local"] else None
                if spec.kind == "heartbeat":
                    check.heartbeat_token = secrets.token_urlsafe(24)
                    check.last_ping_at = None
                db.session.add(check)
                checks[spec.id] = check
                report.created.append(f"check {spec.id}")
            else:
                old_interval = check.interval_seconds
                changes = assign_changes(check, values)
                if changes:
                    if not check.probe_local:
                        check.next_run_at = None  # probed by agents only: the local worker never claims it
                    elif "interval_seconds" in changes or check.next_run_at is None or old_interval is None:
                        check.next_run_at = next_slot_after(spec.id, run_interval(spec.kind, float(spec.interval)), now)
                    if spec.kind == "heartbeat" and not check.heartbeat_token:
                        check.heartbeat_token = secrets.token_urlsafe(24)
                    report.updated.append(f"check {spec.id} ({', '.join(sorted(changes))})")
                else:
                    report.unchanged += 1
    wanted_components = {c.id for c in doc.components}
    wanted_checks = {s.id for c in doc.components for s in c.checks}
    for slug, comp in components.items():
        if slug not in wanted_components and comp.archived_at is None and comp.source == "config":
            comp.archived_at = now
            report.archived.append(f"component {slug}")
            public_change = True
    for slug, check in checks.items():
        if slug not in wanted_checks and check.archived_at is None:
            check.archived_at = now
            check.next_run_at = None
            report.archived.append(f"check {slug}")
    db.session.flush()

    if doc.accounts is not None:
        _apply_accounts(doc.accounts, components, report, now)

    if report.changed:
        record(actor, "config.apply", "config", None, after=report.to_dict())
    if public_change:
        bump_site_version()
    db.session.commit()
    return report


def _apply_accounts(accounts: list[AccountDef], components: dict[str, Component], report: ChangeReport,
                    now) -> None:
    existing = {a.external_id: a for a in db.session.scalars(select(Account))}
    for adef in accounts:
        acc = existing.get(adef.id)
        created = acc is None
        if created:
            acc = Account(external_id=adef.id, name=adef.name, source="config")
            db.session.add(acc)
            existing[adef.id] = acc
        changed = upsert_account_fields(acc, adef, components, source="config")
        if created:
            report.created.append(f"account {adef.id}")
        elif changed:
            report.updated.append(f"account {adef.id} ({', '.join(sorted(changed))})")
        else:
            report.unchanged += 1
    wanted = {a.id for a in accounts}
    for ext_id, acc in existing.items():
        # Only accounts that the file itself created are archived here; imported ones are the CRM's.
        if ext_id not in wanted and acc.source == "config" and acc.archived_at is None:
            acc.archived_at = now
            report.archived.append(f"account {ext_id}")
