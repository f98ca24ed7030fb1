"""What checks mean for their component: one mapping and one place that moves a component.

Used by both recording paths (the local worker's ``results.record_results`` and the probe locations'
``locations.record_location_results``), inside their transaction: nothing here commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ...extensions import db
from ...models import Check, Component
from ...models.constants import worst_status
from ..incidents.status import set_check_status
from . import alerts

# What a degraded check (or a below-quorum failure with on_partial: degraded_performance) means.
DEGRADED = "degraded_performance"


def component_status_for(check_status: str, on_down: str, *, partial: bool = False,
                         on_partial: str | None = None) -> str:
    """What a check's state means for its component.

    ``unknown`` (never ran, or too few fresh locations to decide) says nothing: operational here, and
    the public page says "Monitoring data delayed" for a delayed check instead of a stale green.
    """
    if check_status == "down":
        return on_down
    if check_status == "degraded":
        return DEGRADED
    if partial and on_partial == DEGRADED:
        return DEGRADED
    return "operational"


def apply_status_changes(changed, now: dt.datetime, summary, *, also_components=()) -> None:
    """Recompute the components of checks whose status changed; open auto-incidents and alert on-call.

    ``changed`` holds ``(item, result, transition)`` per check (item: ``id``, ``slug``,
    ``component_id``); ``also_components`` are components to recompute without a check transition
    (a below-quorum failure appeared or cleared on a check with ``on_partial: degraded_performance``).
    """
    by_component: dict[int, list] = {cid: [] for cid in also_components}
    for item, result, transition in changed:
        if transition.changed:
            summary.status_changes.append((item.slug, transition.old_status, transition.new_status))
        by_component.setdefault(item.component_id, []).append((item, result, transition))
    # In id order: two batches moving the same components lock their rows in the same order (no deadlock).
    for component_id, entries in sorted(by_component.items()):
        comp = db.session.get(Component, component_id)
        if comp is None:
            continue
        statuses = db.session.execute(
            select(Check.id, Check.status, Check.on_down, Check.on_partial, Check.partial_failures)
            .where(Check.component_id == component_id, Check.archived_at.is_(None))).all()
        new_status = worst_status(
            component_status_for(s, on_down, partial=bool(partial), on_partial=on_partial)
            for _, s, on_down, on_partial, partial in statuses)
        old_status = comp.check_status
        if new_status != old_status:
            if entries:
                trigger = max(entries, key=lambda e: e[2].new_status == "down")[0].id
            else:
                trigger = next((cid for cid, _, _, on_partial, partial in statuses
                                if partial and on_partial == DEGRADED), None)
            set_check_status(comp, new_status, now, check_id=trigger)
            summary.component_changes.append((comp.slug, new_status))
        if not entries:
            continue  # a below-quorum failure: the component's status shows it; no alert, no auto-incident
        notify = any(t.notify for _, _, t in entries) and not any(t.flapping for _, _, t in entries)
        if new_status != old_status or any(t.flapping_changed for _, _, t in entries):
            alerts.on_component_check_status(comp, old_status, new_status, entries, now, notify=notify)
