"""Who an incident hurts: the accounts using its components, their ARR, and outage minutes so far.

The accounts that use any component the incident affects (``IncidentComponent``), with ARR, tier,
renewal date, owner and team, and each account's *outage minutes so far*: the minutes since the
incident started (until it was resolved, or now) during which at least one of the account's affected
components was in ``major_outage`` or ``partial_outage``. They come from the same computation as every
uptime figure (``services.uptime``: the combined timeline of the components, monitored time only), so
overlapping outages of two components count once, and degraded performance, maintenance and time when
monitoring was delayed do not count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ...db import utcnow
from ...extensions import db
from ...models import (
    Account,
    AccountComponent,
    AccountTeamMember,
    Component,
    Incident,
    IncidentComponent,
)
from ...models.constants import STATUS_SEVERITY
from ..uptime import Coverage, load_segments

OUTAGE_STATUSES = ("major_outage", "partial_outage")


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
                     "once, degraded performance, maintenance and time when monitoring was delayed do not count.")


def incident_start(incident: Incident) -> dt.datetime:
    """When an incident began, for impact: started_at, else when it was published or created."""
    return incident.started_at or incident.scheduled_for or incident.published_at or incident.created_at


def incident_impact(incident: Incident, now: dt.datetime | None = None) -> Impact:
    """The accounts an incident (or maintenance) touches, largest ARR first, with outage minutes so far.

    Four queries whatever the number of accounts: the incident's components, the accounts using them,
    their team members, and the components' status intervals since the incident started.
    """

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

    segments = load_segments(comp_ids, since, until, now)
    coverage = Coverage.load(comp_ids, since, until, now)
    # Many accounts share one set of affected components: compute its figures once.
    per_set: dict[tuple[int, ...], tuple[list[int], list[str], str, float]] = {}
    accounts = []
    for row in account_rows:
        key = tuple(sorted(set(links[row.id])))
        figures = per_set.get(key)
        if figures is None:
            cids = list(key)
            timeline = coverage.monitored_combined({cid: segments[cid] for cid in cids})
            minutes = sum((e - s).total_seconds() for s, e, status in timeline if status in OUTAGE_STATUSES) / 60
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
