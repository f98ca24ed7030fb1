"""Import incidents and scheduled maintenance with every update, component status and postmortem.

This is history, not news: nothing here notifies anyone or opens an outbox row. Each record keeps
its source id (when free), times, texts and statuses, so the public page and /api/v2 show what the
source showed. An incident still open on the source, or a maintenance in progress, sets its
components' status here through services.status, like any open incident; an upcoming maintenance is
left to the scheduler, which starts it (and notifies) when its window opens, as the source would have.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from ...extensions import db
from ...models import (
    Component,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    IncidentUpdateComponent,
    Postmortem,
)
from ..audit import Actor, record
from ..incidents.lifecycle import MAX_BODY, new_public_id
from ..incidents.postmortems import SECTIONS
from ..incidents.status import recompute_component_status
from .mapping import ImportReport, Mappings, digest
from .payloads import SourceIncident, SourceUpdate

OPEN = ("investigating", "identified", "monitoring", "in_progress", "verifying")
_PUBLIC_ID = re.compile(r"^[a-z0-9]{1,32}$")
AUTHOR = "imported from Statuspage"


def incident_digest(src: SourceIncident, components: Collection[str]) -> str:
    """What an incident's import depends on: the record and which of its components exist here."""
    known = sorted(cid for cid in {c for c, _ in src.components}
                   | {ch.code for u in src.updates for ch in u.affected_components} if cid in components)
    return digest({"incident": src, "components": known})


def _free_public_id(wanted: str, model: type[Incident] | type[IncidentUpdate]) -> str:
    if _PUBLIC_ID.match(wanted):
        with db.session.no_autoflush:  # a lookup, not a reason to write what is pending
            if db.session.scalar(select(model.id).where(model.public_id == wanted)) is None:
                return wanted
    return new_public_id()


def _component_statuses(src: SourceIncident, components: dict[str, Component]) -> dict[int, str]:
    """The status the incident sets on each component here: its last update's, else the source's."""
    statuses: dict[int, str] = {}
    for cid, status in src.components:
        if cid in components:
            statuses[components[cid].id] = status
    for upd in sorted(src.updates, key=lambda u: (u.display_at, u.created_at)):
        for change in upd.affected_components:
            if change.code in components:
                statuses[components[change.code].id] = change.new_status
    if src.is_maintenance:
        return {cid: "under_maintenance" for cid in statuses}
    if src.status not in OPEN:
        return {cid: "operational" for cid in statuses}
    return statuses


def _local_status(src: SourceIncident, postmortem_text: str | None) -> str:
    if src.status in ("resolved", "postmortem"):
        return "postmortem" if src.postmortem_published_at is not None and postmortem_text else "resolved"
    return src.status


def _sync_updates(inc: Incident, src: SourceIncident, maps: Mappings, components: dict[str, Component],
                  report: ImportReport, now: dt.datetime) -> None:
    mapped = maps.all("update")
    by_public = {u.public_id: u for u in inc.updates}
    wanted: set[str] = set()
    for upd in src.updates:
        row = mapped.get(upd.id)
        local = by_public.get(row.local_id) if row is not None else None
        key = digest(upd)
        if local is None:
            local = IncidentUpdate(public_id=_free_public_id(upd.id, IncidentUpdate), author_label=AUTHOR)
            inc.updates.append(local)
            report["update"].note("created", f"{src.name}: {upd.status}")
        else:
            report["update"].note("unchanged" if row is not None and row.digest == key else "updated",
                                  f"{src.name}: {upd.status}")
        _fill_update(local, upd, components)
        wanted.add(local.public_id)
        maps.put("update", upd.id, local.public_id, key, now, row)
    for local in list(inc.updates):
        if local.public_id not in wanted and local.author_label == AUTHOR:
            inc.updates.remove(local)  # deleted on the source (updates written here stay)


def _fill_update(local: IncidentUpdate, upd: SourceUpdate, components: dict[str, Component]) -> None:
    local.status = upd.status
    local.body = upd.body[:MAX_BODY]
    local.created_at = upd.created_at
    local.display_at = upd.display_at
    local.notify = upd.deliver_notifications
    local.internal = False
    local.component_changes.clear()
    seen = set()
    for change in upd.affected_components:
        comp = components.get(change.code)
        if comp is None or comp.id in seen:
            continue
        seen.add(comp.id)
        local.component_changes.append(IncidentUpdateComponent(component_id=comp.id, old_status=change.old_status,
                                                               new_status=change.new_status))


def _sync_postmortem(inc: Incident, src: SourceIncident, text: str | None) -> None:
    if not text or inc.kind != "incident":
        return  # nothing on the source: whatever was written here stays
    titles = {key: title for key, title, _ in SECTIONS}
    sections = [{"key": "summary", "title": titles["summary"], "body": text, "public": True}]
    pm = inc.postmortem
    if pm is None:
        pm = Postmortem(sections=sections, created_at=src.postmortem_updated_at or src.updated_at)
        inc.postmortem = pm
    pm.sections = sections
    pm.updated_at = src.postmortem_updated_at or src.updated_at
    pm.published_at = src.postmortem_published_at


def imported_public_ids(maps: Mappings) -> set[str]:
    """Public ids of the incidents imported so far that still exist here (one query for a whole run)."""
    wanted = [row.local_id for row in maps.all("incident").values()]
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(db.session.scalars(select(Incident.public_id).where(
            Incident.public_id.in_(wanted[start:start + 500]))))
    return found


def apply_incident(src: SourceIncident, draft: str | None, maps: Mappings, components: dict[str, Component],
                   report: ImportReport, *, actor: Actor, now: dt.datetime, live: set[str]) -> bool:
    """Create or update one incident or maintenance from its source record; return whether it changed.

    ``live``: the public ids of imported incidents that still exist here (kept up to date). Writes no
    outbox row; the caller bumps the site version once for a batch of changes.
    """
    key = incident_digest(src, components)
    row = maps.get("incident", src.id)
    if row is not None and row.local_id not in live:
        report["incident"].note("skipped", f"{src.name} (deleted here)")
        return False
    if row is not None and row.digest == key:
        report["incident"].note("unchanged", src.name)
        return False
    inc = None
    if row is not None:
        inc = db.session.scalar(select(Incident).where(Incident.public_id == row.local_id).options(
            selectinload(Incident.updates).selectinload(IncidentUpdate.component_changes),
            selectinload(Incident.components)))
    created = inc is None
    was_open = inc is not None and inc.status in OPEN
    if inc is None:
        inc = Incident(public_id=_free_public_id(src.id, Incident), source="import", notify=True,
                       created_by_id=None)
        db.session.add(inc)
    before = {c.component_id for c in inc.components}
    postmortem_text = src.postmortem_body if src.postmortem_published_at is not None else draft
    maint = src.is_maintenance
    inc.kind = "maintenance" if maint else "incident"
    inc.name = src.name
    inc.status = _local_status(src, postmortem_text)
    inc.impact = "maintenance" if maint else (src.impact if src.impact != "maintenance" else "none")
    inc.impact_override = None if maint or src.impact_override in (None, "maintenance") else src.impact_override
    inc.created_at = src.created_at
    inc.published_at = src.created_at
    started = src.started_at or (src.scheduled_for if maint else src.created_at)
    inc.started_at = _first_in_progress(src) if maint else started
    inc.detected_at = None if maint else started
    inc.acknowledged_at = None if maint else src.created_at
    inc.mitigated_at = None if maint else src.monitoring_at or (src.resolved_at if inc.status not in OPEN else None)
    inc.resolved_at = src.resolved_at if inc.status not in OPEN + ("scheduled",) else None
    inc.scheduled_for = src.scheduled_for if maint else None
    inc.scheduled_until = src.scheduled_until if maint else None
    inc.auto_transition = src.scheduled_auto_in_progress if maint else True
    inc.reminder_minutes = 60 if maint and src.scheduled_remind_prior else None
    inc.reminded_at = src.scheduled_reminded_at if maint else None
    db.session.flush()
    _sync_updates(inc, src, maps, components, report, now)
    wanted = _component_statuses(src, components)
    for link in list(inc.components):
        if link.component_id not in wanted:
            inc.components.remove(link)
    current = {link.component_id: link for link in inc.components}
    for cid, status in wanted.items():
        if cid in current:
            current[cid].status = status
        else:
            inc.components.append(IncidentComponent(component_id=cid, status=status))
    _sync_postmortem(inc, src, postmortem_text)
    inc.updated_at = src.updated_at
    flag_modified(inc, "updated_at")  # keep the source's time, not the moment of the import
    db.session.flush()
    if was_open or inc.status in OPEN:  # history that is over changes no component's status now
        for cid in before | set(wanted):
            comp = db.session.get(Component, cid)
            if comp is not None:
                recompute_component_status(comp, now, note=f"imported {inc.kind} {inc.public_id}")
    record(actor, f"{inc.kind}.import", inc.kind, inc.public_id,
           after={"source_id": src.id, "status": inc.status, "updates": len(src.updates), "created": created})
    maps.put("incident", src.id, inc.public_id, key, now, row)
    live.add(inc.public_id)
    report["incident"].note("created" if created else "updated", src.name)
    return True


def _first_in_progress(src: SourceIncident) -> dt.datetime | None:
    times = [u.display_at for u in src.updates if u.status in ("in_progress", "verifying", "completed")]
    if times:
        return min(times)
    return src.scheduled_for if src.status != "scheduled" else None
