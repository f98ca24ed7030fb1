"""What the public sees: published incidents and maintenance, public updates, the overall status.

Read-only queries shared by the trust page, the /api/v2 JSON, feeds, badges and the static export,
so that every public surface agrees. Drafts (published_at NULL), internal updates and non-public
components never leave this module.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import (
    Check,
    Component,
    ComponentGroup,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    IncidentUpdateComponent,
)
from ...models.constants import (
    ACTIVE_MAINTENANCE_STATUSES,
    MONITORING_DELAYED,
    OPEN_INCIDENT_STATUSES,
    STATUS_SEVERITY,
    worst_status,
)
from ..incidents.postmortems import public_sections
from ..monitoring.selfcheck import monitoring_state

# Statuspage's overall indicator and its descriptions.
INDICATOR_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}
INDICATOR_DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}
COMPONENT_INDICATOR = {
    "operational": "none",
    "under_maintenance": "maintenance",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
# Banner colour (a component status word) for each indicator.
INDICATOR_STATUS = {v: k for k, v in COMPONENT_INDICATOR.items()}
IMPACT_LABELS = {"none": "No impact", "minor": "Minor", "major": "Major", "critical": "Critical",
                 "maintenance": "Maintenance"}


@dataclass(frozen=True)
class Overall:
    """The page status: ``indicator`` and ``description`` in Statuspage's words (for /api/v2 and the
    widget), ``headline`` for people (says when monitoring data is delayed)."""

    indicator: str
    description: str
    delayed: bool = False  # no worker has run checks lately: the statuses may be stale
    monitoring: tuple[str, ...] = ()  # names of open incidents whose fix is being monitored
    headline: str = ""
    stale: bool = False  # nothing is known to be wrong, but monitoring data is delayed
    # Components whose checks have too few fresh probe locations to decide (names, display order);
    # they show "Monitoring data delayed" instead of a stale "Operational".
    delayed_components: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """The component status word whose colour the banner takes."""
        return "stale" if self.stale else INDICATOR_STATUS[self.indicator]


_DELAY_MEMO: list = [0.0, False]
DELAY_MEMO_SECONDS = 5.0


def monitoring_delayed() -> bool:
    """Whether monitoring data is stale (see services.selfcheck), memoised per process for 5 s."""
    now = time.monotonic()
    if now - _DELAY_MEMO[0] > DELAY_MEMO_SECONDS:
        stale_after = current_app.extensions["statuspage.settings"].monitoring_stale_after
        _DELAY_MEMO[1] = monitoring_state(stale_after).delayed
        _DELAY_MEMO[0] = now
    return bool(_DELAY_MEMO[1])


def public_components() -> list[Component]:
    """Public, non-archived components in display order, with their groups loaded."""
    return list(db.session.scalars(
        select(Component).where(Component.public.is_(True), Component.archived_at.is_(None))
        .options(selectinload(Component.group)).order_by(Component.position, Component.id)))


def grouped(components: list[Component]) -> list[tuple[ComponentGroup | None, list[Component]]]:
    """Components in display order, grouped; ungrouped components stand alone in order."""
    out: list[tuple[ComponentGroup | None, list[Component]]] = []
    index: dict[int, int] = {}
    for comp in components:
        group = comp.group if comp.group is not None and comp.group.archived_at is None else None
        if group is None:
            out.append((None, [comp]))
        elif group.id in index:
            out[index[group.id]][1].append(comp)
        else:
            index[group.id] = len(out)
            out.append((group, [comp]))
    out.sort(key=lambda item: item[0].position if item[0] is not None else item[1][0].position)
    return out


def display_positions(components: list[Component] | None = None) -> tuple[dict[int, int], dict[int, int]]:
    """Positions in display order, 1-based and counted across groups and components together (as
    /api/v2/components.json numbers them): ({group id: position}, {component id: position})."""
    groups: dict[int, int] = {}
    comps: dict[int, int] = {}
    n = 0
    for group, members in grouped(public_components() if components is None else components):
        if group is not None:
            n += 1
            groups[group.id] = n
        for comp in members:
            n += 1
            comps[comp.id] = n
    return groups, comps


def delayed_component_ids() -> frozenset[int]:
    """Components with an active check whose probe locations are too few fresh to decide
    (``Check.monitoring_delayed``, set by ``monitoring.locations.decide_checks``)."""
    return frozenset(db.session.scalars(
        select(Check.component_id).where(Check.archived_at.is_(None), Check.monitoring_delayed.is_(True))
        .distinct()))


def shown_status(comp: Component, delayed_ids: frozenset[int]) -> str:
    """What the public sees of a component: its status, or ``monitoring_delayed`` instead of an
    "Operational" that nothing fresh confirms. An outage, degradation or maintenance is shown as it is:
    it comes from an incident, an operator or another check, not from the delayed one."""
    if comp.status == "operational" and comp.id in delayed_ids:
        return MONITORING_DELAYED
    return comp.status


def shown_statuses(components: list[Component], delayed_ids: frozenset[int] | None = None) -> dict[int, str]:
    """:func:`shown_status` of each component, by id (the trust page, component page, private view)."""
    delayed_ids = delayed_component_ids() if delayed_ids is None else delayed_ids
    return {c.id: shown_status(c, delayed_ids) for c in components}


def shown_group_status(members: list[Component], shown: dict[int, str]) -> str:
    """A group's badge: the worst of its members, or "Monitoring data delayed" when that would read
    operational while a member's data is delayed."""
    worst = worst_status(c.status for c in members)
    if worst == "operational" and any(shown.get(c.id) == MONITORING_DELAYED for c in members):
        return MONITORING_DELAYED
    return worst


def visible_components(components: list[Component]) -> list[Component]:
    """Drop components marked only_show_if_degraded while they are operational (Statuspage's rule)."""
    return [c for c in components if not (c.only_show_if_degraded and c.status == "operational")]


def overall_status(components: list[Component], unresolved: list[Incident],
                   active_maintenance: list[Incident], delayed_ids: frozenset[int] | None = None) -> Overall:
    """The page's headline, in Statuspage's indicator and description words.

    It follows what is true now: the worst of the components' current statuses, raised by the impact
    of open incidents still being worked on (investigating, identified). An incident in *monitoring*
    (a fix is in place) does not raise it — with every component operational the page reads "All
    Systems Operational" and names the incidents being monitored (``Overall.monitoring``); a component
    still in outage keeps the headline where it is. A maintenance in progress gives ``maintenance``
    unless something worse is going on.

    A component whose probe locations are too few fresh to decide is named in ``delayed_components``;
    with nothing else wrong the headline says monitoring data is delayed (grey, ``stale``) rather than
    "All Systems Operational". The indicator (Statuspage's words, for machines) is left as it is: one
    component's missing data is not an outage of the page.
    """
    indicator = COMPONENT_INDICATOR[worst_status(c.status for c in components)]
    monitoring: list[str] = []
    for inc in unresolved:
        if inc.status == "monitoring":
            monitoring.append(inc.name)
            continue
        impact = inc.effective_impact if inc.effective_impact in INDICATOR_RANK else "none"
        if impact != "maintenance" and INDICATOR_RANK[impact] > INDICATOR_RANK[indicator]:
            indicator = impact
    if active_maintenance and INDICATOR_RANK[indicator] < INDICATOR_RANK["maintenance"]:
        indicator = "maintenance"
    headline = INDICATOR_DESCRIPTIONS[indicator]
    delayed = monitoring_delayed()
    stale = delayed and indicator == "none"
    if delayed:
        # Never a stale all-clear. People read why; machines get Statuspage's words: monitoring itself
        # is out, which is at least a minor outage of the service this page provides.
        headline = "Monitoring Data Delayed" if stale else f"{headline} (monitoring data delayed)"
        if stale:
            indicator = "minor"
    delayed_ids = delayed_component_ids() if delayed_ids is None else delayed_ids
    late = tuple(c.name for c in components if delayed_ids and shown_status(c, delayed_ids) == MONITORING_DELAYED)
    if late and not delayed and indicator == "none":
        headline, stale = "Monitoring Data Delayed", True
    return Overall(indicator, INDICATOR_DESCRIPTIONS[indicator], delayed, tuple(monitoring), headline, stale, late)


def _published(kind: str | None):
    stmt = select(Incident).where(Incident.published_at.is_not(None))
    if kind is not None:
        stmt = stmt.where(Incident.kind == kind)
    return (stmt
            .options(selectinload(Incident.updates).selectinload(IncidentUpdate.component_changes)
                     .selectinload(IncidentUpdateComponent.component),
                     selectinload(Incident.components).selectinload(IncidentComponent.component),
                     selectinload(Incident.postmortem)))


def incident_time(inc: Incident) -> dt.datetime:
    """When an incident began as far as the public is told."""
    if inc.kind == "maintenance" and inc.scheduled_for is not None:
        return inc.scheduled_for
    return inc.started_at or inc.published_at or inc.created_at


def unresolved_incidents() -> list[Incident]:
    """Published incidents that are not resolved, newest first."""
    rows = db.session.scalars(_published("incident").where(Incident.status.in_(OPEN_INCIDENT_STATUSES))
                              .order_by(Incident.created_at.desc()))
    return list(rows)


def active_maintenance() -> list[Incident]:
    """Published maintenance in progress or being verified, soonest first."""
    return list(db.session.scalars(_published("maintenance").where(Incident.status.in_(ACTIVE_MAINTENANCE_STATUSES))
                                   .order_by(Incident.scheduled_for, Incident.id)))


def upcoming_maintenance() -> list[Incident]:
    """Published maintenance still scheduled, soonest first."""
    return list(db.session.scalars(_published("maintenance").where(Incident.status == "scheduled")
                                   .order_by(Incident.scheduled_for, Incident.id)))


def recent_incidents(kind: str | None = "incident", limit: int = 50) -> list[Incident]:
    """The newest published incidents (or maintenance, or both with kind=None), newest first."""
    stmt = _published(kind)
    if kind != "incident":
        stmt = stmt.where(Incident.status != "cancelled")
    return list(db.session.scalars(stmt.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit)))


def calendar_maintenance(limit: int = 500) -> list[Incident]:
    """Published maintenance for the iCalendar feed, cancelled windows included (so calendars drop them)."""
    return list(db.session.scalars(_published("maintenance").where(Incident.scheduled_for.is_not(None))
                                   .order_by(Incident.scheduled_for.desc(), Incident.id.desc()).limit(limit)))


def _both_kinds():
    return (select(Incident).where(Incident.published_at.is_not(None),
                                   or_(Incident.kind == "incident",
                                       (Incident.kind == "maintenance") & (Incident.status != "cancelled")))
            .options(selectinload(Incident.updates),
                     selectinload(Incident.components).selectinload(IncidentComponent.component)))


def incidents_between(start: dt.datetime, end: dt.datetime, *, component_id: int | None = None) -> list[Incident]:
    """Published incidents and (not cancelled) maintenance that began in [start, end), newest first."""
    began = func_coalesce_began()
    stmt = _both_kinds().where(began >= start, began < end)
    if component_id is not None:
        stmt = stmt.where(Incident.components.any(IncidentComponent.component_id == component_id))
    return sorted(db.session.scalars(stmt), key=incident_time, reverse=True)


def func_coalesce_began():
    """SQL for incident_time(): when an incident (or maintenance) began publicly."""
    return case((Incident.kind == "maintenance", func.coalesce(Incident.scheduled_for, Incident.created_at)),
                else_=func.coalesce(Incident.started_at, Incident.published_at, Incident.created_at))


def incidents_overlapping(start: dt.datetime, end: dt.datetime, component_ids: list[int]) -> list[Incident]:
    """Published incidents (kind incident) touching any of the components and overlapping [start, end)."""
    if not component_ids:
        return []
    stmt = (select(Incident).where(Incident.kind == "incident", Incident.published_at.is_not(None),
                                   or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start),
                                   func_coalesce_began() < end,
                                   Incident.components.any(IncidentComponent.component_id.in_(component_ids)))
            .options(selectinload(Incident.components)))
    return list(db.session.scalars(stmt))


def public_updates(inc: Incident) -> list[IncidentUpdate]:
    """An incident's updates the public may read (internal notes never), newest first."""
    return sorted((u for u in inc.updates if not u.internal), key=lambda u: (u.display_at, u.id), reverse=True)


def latest_public_update(inc: Incident) -> IncidentUpdate | None:
    updates = public_updates(inc)
    return updates[0] if updates else None


def affected_public_components(inc: Incident) -> list[Component]:
    """Public components an incident affects, in display order."""
    comps = [ic.component for ic in inc.components
             if ic.component is not None and ic.component.public and ic.component.archived_at is None]
    return sorted(comps, key=lambda c: (c.position, c.id))


def public_postmortem_sections(inc: Incident) -> list[dict]:
    """The public sections of a published postmortem ([] when there is none)."""
    return public_sections(inc.postmortem)


def get_public_incident(public_id: str) -> Incident | None:
    """A published incident or maintenance by its public id; drafts are not found."""
    return db.session.scalars(_published(None).where(Incident.public_id == public_id)).first()


def get_public_component(slug: str) -> Component | None:
    """A public, non-archived component by slug."""
    return db.session.scalars(select(Component).where(Component.slug == slug, Component.public.is_(True),
                                                      Component.archived_at.is_(None))).first()


def severity(status: str) -> int:
    return STATUS_SEVERITY.get(status, 0)
