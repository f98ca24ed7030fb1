"""What happens when checks change a component's status: auto-incidents and on-call alerts.

Held while a check flaps, and suppressed for components inside an active maintenance window. Runs in
the checks engine's transaction (``monitoring.results``): nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import logging

from ...extensions import db
from ...models import Check, Component
from ..incidents.auto import on_component_recovered, open_auto_incident
from ..incidents.status import is_under_maintenance
from ..notifications.oncall import alert_on_call

log = logging.getLogger("statuspage.alerts")


def on_component_check_status(comp: Component, old: str, new: str, entries, now: dt.datetime, *,
                              notify: bool) -> None:
    """Called by the monitor inside its transaction when checks move a component's status."""
    if not notify or old == new:
        return
    if is_under_maintenance(comp.id, now):
        log.info("component %s → %s during maintenance: no alert, no auto-incident", comp.slug, new)
        return
    failing = [(item, result) for item, result, transition in entries if transition.new_status != "up"]
    if new != "operational":
        claimed, result = (failing[0] if failing else (entries[0][0], entries[0][1]))
        check = db.session.get(Check, claimed.id, populate_existing=True)
        if comp.auto_incident != "off" and check is not None:
            open_auto_incident(comp, check, result.to_dict(), now, publish=comp.auto_incident == "publish")
        alert_on_call(comp, new, claimed.slug, result.to_dict(), now)
    else:
        if comp.auto_incident != "off":
            on_component_recovered(comp, now)
        alert_on_call(comp, new, None, None, now)
