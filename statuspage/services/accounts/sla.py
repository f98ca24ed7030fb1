"""Per-account SLA reports: uptime over the account's components against its target, and credits.

For an account and a period [start, end):

    uptime = 1 − (major + w_partial × partial + w_degraded × degraded) / (tracked − maintenance)

computed by ``services.uptime`` over the *combined* timeline of the account's components (at each
instant the worst status among them; time when every one of them is under maintenance is excluded
from the period; time before a component existed or after now is not counted). Weights come from the
page. The account's SLA is *met* when uptime % ≥ its ``sla_target``; accounts without a target have no
SLA (met is None, no credit). When breached, the service credit is the first rule of the ladder
``Page.settings["sla_credits"]`` (from the config file's ``sla.credits``) whose ``below`` is greater
than the uptime %, from the top; none matching → 0.

Downtime minutes are the weighted down minutes of the formula. The incidents that counted are the
published incidents touching the account's components whose time (started → resolved, or still
open) overlaps the period.

The report is built for any number of accounts with a fixed number of queries: all accounts, their
components, every interval of every component involved (once), and the incidents of the period; the
combined figures are computed once per distinct set of components (many accounts share one).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select

from ...db import utcnow
from ...extensions import db
from ...models import Account, AccountComponent, AccountTeamMember, Component, Incident, IncidentComponent
from ..page import get_page
from ..uptime import UptimeFigures, Weights, combine_segments, figures_from_segments, load_segments

AT_RISK_INCIDENTS = 3
AT_RISK_DAYS = 90


class SlaError(ValueError):
    """A report request that cannot be answered (bad dates, unknown account)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def month_period(year: int, month: int, tz: dt.tzinfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[first instant of the month, first instant of the next) in the page's zone, as UTC datetimes."""
    tz = tz or get_page().tz
    start = dt.datetime(year, month, 1, tzinfo=tz)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def period_from_dates(first: dt.date, last: dt.date, tz: dt.tzinfo | None = None) -> tuple[dt.datetime, dt.datetime]:
    """Local days ``first`` to ``last`` inclusive → [start, end) in UTC; SlaError when reversed."""
    if last < first:
        raise SlaError("the end date is before the start date", "to")
    tz = tz or get_page().tz
    start = dt.datetime.combine(first, dt.time(), tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def parse_period(date_from: str | None, date_to: str | None, *, now: dt.datetime | None = None
                 ) -> tuple[dt.datetime, dt.datetime]:
    """Period from ISO dates (inclusive, local days); both empty → the current calendar month."""
    tz = get_page().tz
    if not date_from and not date_to:
        local = (now or utcnow()).astimezone(tz)
        return month_period(local.year, local.month, tz)
    try:
        first = dt.date.fromisoformat((date_from or "").strip())
    except ValueError:
        raise SlaError(f"from: expected a date like 2026-03-01, got {date_from!r}", "from") from None
    try:
        last = dt.date.fromisoformat((date_to or "").strip()) if date_to else None
    except ValueError:
        raise SlaError(f"to: expected a date like 2026-03-31, got {date_to!r}", "to") from None
    if last is None:  # from alone: to the end of that month
        nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
        last = nxt - dt.timedelta(days=1)
    if (last - first).days > 3660:
        raise SlaError("the period is longer than ten years", "to")
    return period_from_dates(first, last, tz)


def credit_for(uptime_percent: float | None, ladder: list[dict[str, float]]) -> float:
    """The credit percent of the first rule (from the top) whose ``below`` exceeds the uptime %."""
    if uptime_percent is None:
        return 0.0
    for rule in ladder or []:
        if uptime_percent < float(rule["below"]):
            return float(rule["credit_percent"])
    return 0.0


@dataclass
class IncidentRef:
    public_id: str
    name: str
    impact: str
    started_at: dt.datetime | None
    resolved_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.public_id, "name": self.name, "impact": self.impact,
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None}


@dataclass
class SlaRow:
    account_id: int
    external_id: str
    name: str
    arr: Decimal
    tier: str | None
    owner: str | None
    renewal_date: dt.date | None
    components: list[str]
    target: float | None
    figures: UptimeFigures
    uptime_percent: float | None  # None: no tracked time in the period
    met: bool | None  # None: no target or no data
    downtime_minutes: float
    credit_percent: float
    incidents: list[IncidentRef] = field(default_factory=list)

    @property
    def breached(self) -> bool:
        return self.met is False

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.external_id, "name": self.name, "arr": float(self.arr), "tier": self.tier,
            "owner": self.owner, "renewal_date": self.renewal_date.isoformat() if self.renewal_date else None,
            "components": self.components,
            "uptime_percent": None if self.uptime_percent is None else round(self.uptime_percent, 4),
            "target_percent": self.target, "met": self.met, "breached": self.breached,
            "downtime_minutes": round(self.downtime_minutes, 2),
            "major_outage_minutes": round(self.figures.major_seconds / 60, 2),
            "partial_outage_minutes": round(self.figures.partial_seconds / 60, 2),
            "maintenance_minutes": round(self.figures.maintenance_seconds / 60, 2),
            "period_minutes": round((self.figures.tracked_seconds - self.figures.maintenance_seconds) / 60, 2),
            "credit_percent": self.credit_percent,
            "incidents": [i.to_dict() for i in self.incidents],
        }


@dataclass
class SlaReport:
    start: dt.datetime
    end: dt.datetime
    weights: Weights
    ladder: list[dict[str, float]]
    rows: list[SlaRow]
    generated_at: dt.datetime

    @property
    def formula(self) -> str:
        return formula_text(self.weights)

    def row(self, external_id: str) -> SlaRow | None:
        return next((r for r in self.rows if r.external_id == external_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "formula": self.formula,
                "weights": {"major_outage": 1.0, "partial_outage": self.weights.partial,
                            "degraded_performance": self.weights.degraded},
                "credit_ladder": self.ladder, "generated_at": self.generated_at.isoformat(),
                "accounts": [r.to_dict() for r in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    CSV_COLUMNS = ("account", "name", "tier", "owner", "arr", "renewal_date", "components", "uptime_percent",
                   "target_percent", "met", "downtime_minutes", "major_outage_minutes", "partial_outage_minutes",
                   "maintenance_minutes", "credit_percent", "incident_count", "incidents")

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.CSV_COLUMNS)
        for r in self.rows:
            d = r.to_dict()
            met = "" if r.met is None else ("yes" if r.met else "no")
            writer.writerow([
                _safe(d["account"]), _safe(d["name"]), _safe(d["tier"] or ""), _safe(d["owner"] or ""),
                f"{d['arr']:.2f}", d["renewal_date"] or "", ";".join(r.components),
                "" if d["uptime_percent"] is None else f"{d['uptime_percent']:.4f}",
                "" if r.target is None else f"{r.target:g}", met, f"{d['downtime_minutes']:.2f}",
                f"{d['major_outage_minutes']:.2f}", f"{d['partial_outage_minutes']:.2f}",
                f"{d['maintenance_minutes']:.2f}", f"{r.credit_percent:g}", len(r.incidents),
                _safe(";".join(i.public_id for i in r.incidents))])
        return out.getvalue()


def _safe(value: str) -> str:
    """Neutralise spreadsheet formulas in CSV cells (=, +, -, @ at the start)."""
    return "'" + value if value and value[0] in "=+-@\t\r" else value


def formula_text(weights: Weights) -> str:
    """The formula as shown on the report page and in the JSON."""
    degraded = f" + {weights.degraded:g} × degraded-performance minutes" if weights.degraded else ""
    return (f"Uptime = 1 − (major-outage minutes + {weights.partial:g} × partial-outage minutes{degraded}) ÷ "
            f"(minutes in the period − maintenance minutes), over the account's components combined: a minute "
            f"counts at the worst status of any of them, and is maintenance only when all of them are under "
            f"maintenance. SLA met when uptime ≥ target; the credit is the first rule of the ladder below "
            f"the uptime.")


def sla_report(start: dt.datetime, end: dt.datetime, *, accounts: list[str] | None = None,
               now: dt.datetime | None = None, weights: Weights | None = None) -> SlaReport:
    """The SLA report of every live account (or only the external ids in ``accounts``) over [start, end).

    Rows are sorted by ARR, largest first. SlaError when an external id in ``accounts`` is unknown.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if end <= start:
        raise SlaError("the period is empty", "to")
    now = now or utcnow()
    page = get_page()
    weights = weights or Weights.from_page()
    ladder = list((page.settings or {}).get("sla_credits") or [])

    stmt = select(Account.id, Account.external_id, Account.name, Account.arr, Account.tier, Account.owner_email,
                  Account.renewal_date, Account.sla_target).where(Account.archived_at.is_(None))
    if accounts:
        stmt = stmt.where(Account.external_id.in_(accounts))
    conn = db.session.connection()  # Core rows: no ORM row processing for 10^5 rows
    account_rows = conn.execute(stmt).all()
    if accounts:
        missing = set(accounts) - {r.external_id for r in account_rows}
        if missing:
            raise SlaError(f"unknown account {', '.join(sorted(missing))}", "account")
    wanted = {r.id for r in account_rows}

    comp_stmt = select(AccountComponent.account_id, AccountComponent.component_id)
    if accounts:
        comp_stmt = comp_stmt.where(AccountComponent.account_id.in_(wanted))
    sets: dict[int, list[int]] = defaultdict(list)
    for account_id, component_id in conn.execute(comp_stmt):
        if account_id in wanted:
            sets[account_id].append(component_id)
    involved = sorted({c for cids in sets.values() for c in cids})
    names = dict(db.session.execute(select(Component.id, Component.slug).where(Component.id.in_(involved))).all()
                 ) if involved else {}

    segments = load_segments(involved, start, end, now)  # every interval involved, loaded once
    figures_by_set: dict[frozenset[int], UptimeFigures] = {}
    incidents_by_component = _incidents_by_component(involved, start, end)
    incidents_by_set: dict[frozenset[int], list[IncidentRef]] = {}

    rows = []
    for r in account_rows:
        cids = frozenset(sets.get(r.id, ()))
        figures = figures_by_set.get(cids)
        if figures is None:
            figures = figures_from_segments(combine_segments(segments[c] for c in cids)) if cids else UptimeFigures()
            figures_by_set[cids] = figures
        incs = incidents_by_set.get(cids)
        if incs is None:
            seen: dict[str, IncidentRef] = {}
            for c in cids:
                for ref in incidents_by_component.get(c, ()):
                    seen.setdefault(ref.public_id, ref)
            incs = sorted(seen.values(), key=lambda i: (i.started_at or start, i.public_id))
            incidents_by_set[cids] = incs
        fraction = figures.uptime(weights)
        percent = None if fraction is None else fraction * 100
        target = float(r.sla_target) if r.sla_target is not None else None
        met = None if target is None or percent is None else percent >= target - 1e-9
        rows.append(SlaRow(
            account_id=r.id, external_id=r.external_id, name=r.name, arr=Decimal(r.arr or 0), tier=r.tier,
            owner=r.owner_email, renewal_date=r.renewal_date, components=sorted(names[c] for c in cids),
            target=target, figures=figures, uptime_percent=percent, met=met,
            downtime_minutes=figures.down_seconds(weights) / 60,
            credit_percent=credit_for(percent, ladder) if met is False else 0.0, incidents=incs))
    rows.sort(key=lambda x: (-x.arr, x.name.lower(), x.external_id))
    return SlaReport(start=start, end=end, weights=weights, ladder=ladder, rows=rows, generated_at=now)


def _incidents_by_component(component_ids: list[int], start: dt.datetime, end: dt.datetime
                            ) -> dict[int, list[IncidentRef]]:
    """Published incidents (not maintenance) overlapping [start, end), by component they touch."""
    out: dict[int, list[IncidentRef]] = defaultdict(list)
    if not component_ids:
        return out
    began = Incident.started_at
    rows = db.session.execute(
        select(IncidentComponent.component_id, Incident.public_id, Incident.name, Incident.impact,
               Incident.impact_override, Incident.started_at, Incident.published_at, Incident.resolved_at)
        .join(Incident, Incident.id == IncidentComponent.incident_id)
        .where(Incident.kind == "incident", Incident.published_at.is_not(None),
               or_(began < end, began.is_(None) & (Incident.published_at < end)),
               or_(Incident.resolved_at.is_(None), Incident.resolved_at > start))).all()
    wanted = set(component_ids)
    refs: dict[str, IncidentRef] = {}
    for cid, public_id, name, impact, override, started, published, resolved in rows:
        if cid not in wanted:
            continue
        ref = refs.get(public_id)
        if ref is None:
            ref = refs[public_id] = IncidentRef(public_id, name, override or impact, started or published, resolved)
        out[cid].append(ref)
    return out


# --- at risk ---------------------------------------------------------------------------------------------


@dataclass
class AtRisk:
    external_id: str
    name: str
    arr: Decimal
    owner: str | None
    team: list[str]
    renewal_date: dt.date | None
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"account": self.external_id, "name": self.name, "arr": float(self.arr), "owner": self.owner,
                "team": self.team, "renewal_date": self.renewal_date.isoformat() if self.renewal_date else None,
                "reasons": self.reasons}


def at_risk_accounts(*, now: dt.datetime | None = None, owner: str | None = None,
                     report: SlaReport | None = None) -> list[AtRisk]:
    """Accounts the account team should call, largest ARR first, each with why:

    * its SLA is breached in the current calendar month (page time zone) — or in ``report``'s period;
    * it was touched by ≥ 3 published incidents that started in the last 90 days;
    * its renewal date is upcoming and falls within 90 days after an incident that touched it.

    ``owner`` keeps only accounts that this email owns or is on the team of.
    """
    now = now or utcnow()
    if report is None:
        start, end = parse_period(None, None, now=now)
        report = sla_report(start, end, now=now)
    today = now.astimezone(get_page().tz).date()
    since = now - dt.timedelta(days=AT_RISK_DAYS)
    recent = _incidents_by_component(
        sorted({c for c in db.session.scalars(select(AccountComponent.component_id).distinct())}), since, now)
    recent = {cid: [i for i in refs if i.started_at is None or i.started_at >= since] for cid, refs in recent.items()}
    sets: dict[int, set[int]] = defaultdict(set)
    for account_id, component_id in db.session.execute(select(AccountComponent.account_id,
                                                              AccountComponent.component_id)):
        sets[account_id].add(component_id)
    team: dict[int, list[str]] = defaultdict(list)
    for account_id, email in db.session.execute(select(AccountTeamMember.account_id, AccountTeamMember.email)):
        team[account_id].append(email)
    out = []
    for row in report.rows:
        reasons = []
        if row.breached:
            reasons.append(f"SLA breached this period: {row.uptime_percent:.3f}% against a target of "
                           f"{row.target:g}%" + (f" (credit {row.credit_percent:g}%)" if row.credit_percent else ""))
        seen: dict[str, IncidentRef] = {}
        for c in sets.get(row.account_id, ()):
            for ref in recent.get(c, ()):
                seen.setdefault(ref.public_id, ref)
        if len(seen) >= AT_RISK_INCIDENTS:
            reasons.append(f"{len(seen)} incidents in the last {AT_RISK_DAYS} days")
        if row.renewal_date and row.renewal_date >= today and seen:
            last = max((i.started_at for i in seen.values() if i.started_at), default=None)
            if last is not None and row.renewal_date <= (last + dt.timedelta(days=AT_RISK_DAYS)).date():
                latest = max(seen.values(), key=lambda i: i.started_at or since)
                reasons.append(f"renews on {row.renewal_date.isoformat()}, within {AT_RISK_DAYS} days after "
                               f"the incident “{latest.name}” ({last.date().isoformat()})")
        if not reasons:
            continue
        members = team.get(row.account_id, [])
        if owner and owner.lower() != (row.owner or "").lower() and owner.lower() not in members:
            continue
        out.append(AtRisk(row.external_id, row.name, row.arr, row.owner, members, row.renewal_date, reasons))
    out.sort(key=lambda a: (-a.arr, a.name.lower()))
    return out
