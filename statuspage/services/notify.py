"""Notifications: turn domain events into outbox rows, in the caller's transaction.

The incident, maintenance and postmortem services call ``notify_event`` inside the transaction that
records the event, so an update is never stored without its notifications nor the reverse.
"""

from __future__ import annotations

from ..models import Incident, IncidentUpdate

EVENTS = (
    "incident_created",
    "incident_updated",
    "incident_resolved",
    "postmortem_published",
    "maintenance_scheduled",
    "maintenance_reminder",
    "maintenance_started",
    "maintenance_completed",
    "maintenance_cancelled",
)


def notify_event(event: str, incident: Incident, update: IncidentUpdate | None = None) -> int:
    """Enqueue the outbox rows for `event` on `incident` (and its `update`); return how many.

    Callers must have flushed `incident` and `update` (they need ids). Fan-out to subscribers,
    account contacts and account teams is added by the notification and accounts work.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    return 0
