"""Backfill each imported component's status history from its imported incidents and maintenance.

Statuspage has no status history to export, only incidents whose updates say which status each
component took and when. From those: a component is operational from its start date until its own
first interval here, except while an imported incident held it in another status (the worst one when
incidents overlap) or a maintenance had it under maintenance. The result replaces the component's
``import`` intervals (services.status.backfill_history), so the 90-day bars and uptime show the
imported history, and running the import again writes nothing when nothing changed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import (
    Component,
    ComponentStatusInterval,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    IncidentUpdateComponent,
)
from ...models.constants import STATUS_SEVERITY
from ..incidents.status import Segment, backfill_history
from .mapping import ImportReport

SOURCE = "import"
NOTE = "history imported from Statuspage"


def incident_segments(inc: Incident, component_id: int, horizon: dt.datetime) -> list[Segment]:
    """The non-operational stretches one incident or maintenance gave one component, cut at ``horizon``."""
    if inc.kind == "maintenance":
        if inc.status == "completed":
            end = inc.resolved_at or inc.scheduled_until
        elif inc.status == "cancelled":
            return []
        else:
            end = None
    else:
        end = inc.resolved_at if inc.status in ("resolved", "postmortem") else None
    end = min(end or horizon, horizon)
    changes = sorted((u.display_at, u.created_at, ch.new_status) for u in inc.updates if not u.internal
                      for ch in u.component_changes if ch.component_id == component_id)
    points: list[tuple[dt.datetime, str]] = [(at, status) for at, _, status in changes]
    if not points and inc.kind == "maintenance" and inc.started_at is not None:
        points = [(inc.started_at, "under_maintenance")]
    out = []
    for i, (start, status) in enumerate(points):
        stop = min(points[i + 1][0], end) if i + 1 < len(points) else end
        if status != "operational" and stop > start:
            out.append((start, stop, status))
    return out


def combine(segments: list[Segment], start: dt.datetime, end: dt.datetime) -> list[Segment]:
    """Cover [start, end): the worst status of the overlapping segments, operational in between.

    A sweep over the segments' ends (n log n): thousands of incidents on a component stay quick.
    """
    events: list[tuple[dt.datetime, int, str]] = []
    for s, e, status in segments:
        s, e = max(s, start), min(e, end)
        if e > s:
            events += [(s, 1, status), (e, -1, status)]
    events.sort(key=lambda ev: (ev[0], ev[1]))
    active: dict[str, int] = defaultdict(int)
    out: list[Segment] = []
    cursor, i = start, 0

    def current() -> str:
        live = [st for st, n in active.items() if n > 0]
        return max(live, key=STATUS_SEVERITY.__getitem__) if live else "operational"

    while i <= len(events):
        at = events[i][0] if i < len(events) else end
        if at > cursor:
            status = current()
            if out and out[-1][2] == status and out[-1][1] == cursor:
                out[-1] = (out[-1][0], at, status)
            else:
                out.append((cursor, at, status))
            cursor = at
        if i == len(events):
            break
        while i < len(events) and events[i][0] == at:
            active[events[i][2]] += events[i][1]
            i += 1
    return out


def component_start(comp: Component) -> dt.datetime:
    if comp.start_date is not None:
        day = comp.start_date
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return comp.created_at


def backfill(components: list[Component], report: ImportReport) -> None:
    """Write the imported history of each component (before its first interval here). Flushes."""
    if not components:
        return
    ids = [c.id for c in components]
    live_start = dict(db.session.execute(
        select(ComponentStatusInterval.component_id, func.min(ComponentStatusInterval.started_at))
        .where(ComponentStatusInterval.component_id.in_(ids), ComponentStatusInterval.source != SOURCE)
        .group_by(ComponentStatusInterval.component_id)).all())
    incidents = db.session.scalars(
        select(Incident).where(Incident.published_at.is_not(None),
                               Incident.components.any(IncidentComponent.component_id.in_(ids))
                               | Incident.updates.any(IncidentUpdate.component_changes.any(
                                   IncidentUpdateComponent.component_id.in_(ids))))
        .options(selectinload(Incident.updates).selectinload(IncidentUpdate.component_changes),
                 selectinload(Incident.components))).all()
    per_component: dict[int, list[Incident]] = defaultdict(list)
    for inc in incidents:
        touched = {ic.component_id for ic in inc.components} | {
            ch.component_id for u in inc.updates for ch in u.component_changes}
        for cid in touched & set(ids):
            per_component[cid].append(inc)
    for comp in components:
        horizon = live_start.get(comp.id)
        start = component_start(comp)
        if horizon is None or start >= horizon:
            continue
        segments = [seg for inc in per_component[comp.id] for seg in incident_segments(inc, comp.id, horizon)]
        wanted = combine(segments, start, horizon)
        if backfill_history(comp, wanted, source=SOURCE, note=NOTE):
            report["history"].note("updated", comp.slug)
        else:
            report["history"].note("unchanged", comp.slug)
