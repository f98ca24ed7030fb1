"""One run of ``statuspage import statuspage``: bring a whole Statuspage page over, or say what would change.

Order: structure (groups, components, templates) → incidents and maintenance → status history,
current component statuses and uptime rollups → subscribers. A real run commits after each unit
(the structure, every 100 incidents, the history, every page of subscribers) and holds no
transaction while it waits on the network, so the live site keeps writing meanwhile; a failure
leaves every committed unit whole, and the next run skips what is already imported (mapping rows with
an unchanged digest) and resumes. A dry run fetches everything first, applies it in one transaction
and rolls it back, so its report is exactly what a real run would do; subscribers are only counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from ...db import utcnow
from ...extensions import db
from ...models import Component
from ..audit import Actor
from ..page import bump_site_version
from ..uptime import rollup_uptime
from .client import StatuspageApiError, StatuspageClient
from .history import backfill
from .incidents import apply_incident, imported_public_ids, incident_digest
from .mapping import ImportReport, Mappings
from .payloads import (
    PayloadError,
    SourceComponent,
    SourceIncident,
    parse_component,
    parse_group,
    parse_incident,
    parse_template,
    postmortem_draft,
)
from .structure import Placed, apply_component_statuses, apply_structure, apply_templates, display_order
from .subscribers import apply_subscribers, plan_subscribers, subscriber_pages, total_subscribers

Progress = Callable[[str, int, int | None], None]
BATCH = 100


def _quiet(_phase: str, _done: int, _total: int | None) -> None:
    return None


def _parse_all(items: list[Any], parse: Callable[[Any], Any], report: ImportReport, kind: str) -> list[Any]:
    out = []
    for raw in items:
        try:
            out.append(parse(raw))
        except PayloadError as exc:
            report.problems.append(str(exc))
            report[kind].skipped += 1
    return out


class ImportRun:
    """The state of one run (see the module docstring)."""

    def __init__(self, client: StatuspageClient, *, dry_run: bool = False, progress: Progress | None = None,
                 actor: Actor | None = None, now: dt.datetime | None = None):
        self.client = client
        self.dry_run = dry_run
        self.progress = progress or _quiet
        self.actor = actor or Actor(type="cli", label=f"import:statuspage:{client.page_id}")
        self.now = now or utcnow()
        self.maps = Mappings(client.page_id)
        self.report = ImportReport(dry_run=dry_run)

    # --- transactions ---

    def _save(self) -> None:
        """End a unit of work: commit it (a dry run keeps everything in one transaction)."""
        if self.dry_run:
            db.session.flush()
        else:
            db.session.commit()

    def _idle(self) -> None:
        """Before waiting on the network: hold no transaction (nothing of the run is pending here: a real
        run has committed its last unit, a dry run has not applied anything yet)."""
        if self.dry_run:
            db.session.rollback()
        else:
            db.session.commit()

    # --- fetching ---

    def _all(self, suffix: str, phase: str, **kwargs: Any) -> list[Any]:
        items: list[Any] = []
        for batch in self.client.pages(suffix, **kwargs):
            items += batch
            self.progress(f"fetching {phase}", len(items), None)
        return items

    def fetch_structure(self) -> tuple[list[Placed], list[SourceComponent], list[Any]]:
        page = self.client.get(self.client.page_path())
        if not isinstance(page, dict) or str(page.get("id")) != self.client.page_id:
            raise StatuspageApiError(f"the source did not answer with page {self.client.page_id}")
        groups = _parse_all(self._all("/component-groups", "component groups"), parse_group, self.report, "group")
        comps = _parse_all(self._all("/components", "components"), parse_component, self.report, "component")
        templates = _parse_all(self._all("/incident_templates", "templates"), parse_template, self.report,
                               "template")
        return display_order(groups, comps), comps, templates

    def fetch_incidents(self) -> list[SourceIncident]:
        raw = self._all("/incidents", "incidents", size_param="limit")
        raw += self._all("/incidents/scheduled", "scheduled maintenance")
        seen: dict[str, SourceIncident] = {}
        for src in _parse_all(raw, parse_incident, self.report, "incident"):
            seen.setdefault(src.id, src)
        return sorted(seen.values(), key=lambda s: (s.created_at, s.id))

    def fetch_drafts(self, incidents: list[SourceIncident], known: set[str]) -> dict[str, str | None]:
        """Unpublished postmortem texts of the incidents about to be written (one request each)."""
        rows = self.maps.all("incident")
        wanted = [src for src in incidents if src.has_postmortem_draft and (
            src.id not in rows or rows[src.id].digest != incident_digest(src, known))]
        self._idle()
        drafts: dict[str, str | None] = {}
        for i, src in enumerate(wanted, 1):
            try:
                drafts[src.id] = postmortem_draft(self.client.get(self.client.page_path(
                    f"/incidents/{src.id}/postmortem")))
            except StatuspageApiError as exc:
                if "HTTP 404" not in str(exc):
                    raise
                drafts[src.id] = None
            self.progress("fetching postmortem drafts", i, len(wanted))
        return drafts

    # --- applying ---

    def apply_incidents(self, incidents: list[SourceIncident], drafts: dict[str, str | None]) -> None:
        components = self._components()
        live = imported_public_ids(self.maps)
        total = len(incidents)
        for start in range(0, total, BATCH):
            changed = False
            for src in incidents[start:start + BATCH]:
                try:
                    with db.session.begin_nested():
                        changed |= apply_incident(src, drafts.get(src.id), self.maps, components, self.report,
                                                  actor=self.actor, now=self.now, live=live)
                except Exception as exc:  # noqa: BLE001 - one bad record must not stop the import
                    self.maps.forget()
                    self.report.problems.append(f"incident {src.id}: {type(exc).__name__}: {exc}"[:500])
                    self.report["incident"].skipped += 1
            if changed:
                bump_site_version()
            self._save()
            self.progress("incidents", min(start + BATCH, total), total)

    def _components(self) -> dict[str, Component]:
        rows = self.maps.all("component")
        local = {c.slug: c for c in db.session.scalars(select(Component).where(
            Component.slug.in_([r.local_id for r in rows.values()])))} if rows else {}
        return {sid: local[r.local_id] for sid, r in rows.items() if r.local_id in local}

    def apply_history(self, source_components: list[SourceComponent]) -> None:
        components = self._components()
        backfill([c for c in components.values() if c.archived_at is None], self.report)
        apply_component_statuses(source_components, components, self.report, actor=self.actor, now=self.now)
        if not self.dry_run:
            rollup_uptime(self.now)
        self._save()
        self.progress("history", 1, 1)

    def expected_components(self, placed: list[Placed]) -> set[str]:
        """Source component ids that exist here once the structure is applied (for a dry run's planning)."""
        rows = self.maps.all("component")
        live = set(db.session.scalars(select(Component.slug).where(Component.archived_at.is_(None))))
        return {p.source.id for p in placed if p.kind == "component"
                and (p.source.id not in rows or rows[p.source.id].local_id in live)}

    def subscribers(self, known: set[str] | None) -> None:
        total = total_subscribers(self.client)
        done = 0
        components = self._components() if known is None else {}
        self._idle()
        for state, batch in subscriber_pages(self.client):
            if self.dry_run:
                plan_subscribers(state, batch, self.maps, known or set(), self.report)
                db.session.rollback()  # read only; nothing of this run is pending yet
            else:
                apply_subscribers(state, batch, self.maps, components, self.report, actor=self.actor, now=self.now)
                self._save()
            done += len(batch)
            self.progress("subscribers", done, total if total is not None and total >= done else None)

    # --- the run ---

    def run(self) -> ImportReport:
        requests, retries = self.client.stats.requests, self.client.stats.retries
        try:
            if self.dry_run:
                self._dry_run()
            else:
                self._real_run()
        finally:
            self.report.requests = self.client.stats.requests - requests
            self.report.retries = self.client.stats.retries - retries
        return self.report

    def _real_run(self) -> None:
        placed, comps, templates = self.fetch_structure()
        apply_structure(placed, self.maps, self.report, actor=self.actor, now=self.now)
        apply_templates(templates, self.maps, self.report, actor=self.actor, now=self.now)
        self._save()
        self.progress("structure", len(placed) + len(templates), len(placed) + len(templates))
        incidents = self.fetch_incidents()
        drafts = self.fetch_drafts(incidents, set(self._components()))
        self.apply_incidents(incidents, drafts)
        self.apply_history(comps)
        self.subscribers(None)

    def _dry_run(self) -> None:
        try:
            placed, comps, templates = self.fetch_structure()
            incidents = self.fetch_incidents()
            known = self.expected_components(placed)
            drafts = self.fetch_drafts(incidents, known)
            self.subscribers(known)
            apply_structure(placed, self.maps, self.report, actor=self.actor, now=self.now)
            apply_templates(templates, self.maps, self.report, actor=self.actor, now=self.now)
            self.apply_incidents(incidents, drafts)
            self.apply_history(comps)
        finally:
            db.session.rollback()
            self.maps.forget()


def run_import(client: StatuspageClient, *, dry_run: bool = False, progress: Progress | None = None,
               actor: Actor | None = None, now: dt.datetime | None = None) -> ImportReport:
    """Import (or, with ``dry_run``, plan importing) the client's page; see the module docstring."""
    return ImportRun(client, dry_run=dry_run, progress=progress, actor=actor, now=now).run()
