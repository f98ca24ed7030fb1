"""Per-account SLA reports: uptime over the account's components against its target, and credits.

For an account and a period [start, end), ``services.uptime`` computes, over the *combined* timeline of
the account's components (at each instant the worst status among them; maintenance only when every
one of them is under maintenance)::

    uptime = 1 − (major + w_partial × partial + w_degraded × degraded) / (monitored − maintenance)

Only *monitored* time counts (see ``services.uptime``): time before monitoring began or before a
component's start date, time when monitoring was delayed (no worker ran checks, or a component's probe
locations were too few to decide its quorum) and time still in the future are not monitored. ``coverage = monitored minutes / minutes in the period``.

A row never claims what it cannot show:

* no target → no SLA (no verdict, no credit);
* coverage below ``Page.settings["sla_min_coverage_percent"]`` (config ``sla.min_coverage_percent``,
  default 90) → "insufficient data (coverage 0.03%)": no verdict, no credit;
* otherwise *met* when uptime ≥ target (compared unrounded; shown rounded down to two decimals, so
  for targets of up to two decimals the figure shown and the verdict always agree), else *breached*
  with the credit of the first rule of the ladder ``Page.settings["sla_credits"]`` whose ``below``
  is greater than the uptime, from the top (none matching → 0).

Downtime minutes are given by kind (major, partial, degraded) and weighted. The incidents that counted
are the published incidents touching the account's components whose time (started → resolved, or
still open) overlaps the period. A period that has not ended yet is marked so (figures so far).

The report is built for any number of accounts with a fixed number of queries: all accounts, their
components, every interval of every component involved (once), the monitoring gaps, and the
incidents of the period; the combined figures are computed once per distinct set of components.
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
from ..uptime import (
    ROUNDING_TEXT,
    Coverage,
    Uptime,
    UptimeFigures,
    Weights,
    answer,
    format_coverage,
    load_segments,
    percent_of,
    uptime_formula,
)

AT_RISK_INCIDENTS = 3
AT_RISK_DAYS = 90
DEFAULT_MIN_COVERAGE = 90.0
VERDICTS = ("met", "breached", "insufficient_data", "no_target")


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


def min_coverage_percent() -> float:
    """The coverage a period needs before a verdict or credit is given (config ``sla.min_coverage_percent``)."""
    value = (get_page().settings or {}).get("sla_min_coverage_percent")
    return DEFAULT_MIN_COVERAGE if value is None else float(value)


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
    uptime: Uptime  # combined over the account's components, with coverage
    min_coverage: float  # percent
    ladder: list[dict[str, float]]
    incidents: list[IncidentRef] = field(default_factory=list)

    @property
    def figures(self) -> UptimeFigures:
        return self.uptime.figures

    @property
    def uptime_percent(self) -> float | None:
        """Rounded down to two decimals, like every surface; None without monitored time."""
        value = self.uptime.percent
        return None if value is None else float(value)

    @property
    def uptime_text(self) -> str:
        return self.uptime.text

    @property
    def coverage_percent(self) -> float:
        return float(percent_of(self.uptime.coverage) or 0)

    @property
    def coverage_text(self) -> str:
        return format_coverage(self.uptime.coverage)

    @property
    def enough_data(self) -> bool:
        # Compared on the figure shown (rounded down), so "coverage 89.99%" never gets a verdict.
        return self.uptime.percent is not None and self.coverage_percent >= self.min_coverage - 1e-9

    @property
    def verdict(self) -> str:
        """met | breached | insufficient_data | no_target."""
        if self.target is None:
            return "no_target"
        if not self.enough_data:
            return "insufficient_data"
        exact = self.uptime.exact
        assert exact is not None
        return "met" if exact * 100 >= Decimal(str(self.target)) else "breached"

    @property
    def verdict_text(self) -> str:
        """'met', 'breached', 'insufficient data (coverage 0.03%)', 'no SLA target'."""
        verdict = self.verdict
        if verdict == "insufficient_data":
            return f"insufficient data (coverage {self.coverage_text})"
        return "no SLA target" if verdict == "no_target" else verdict

    @property
    def met(self) -> bool | None:
        """True/False only when a verdict is given (a target and enough coverage)."""
        verdict = self.verdict
        return True if verdict == "met" else False if verdict == "breached" else None

    @property
    def breached(self) -> bool:
        return self.verdict == "breached"

    @property
    def credit_percent(self) -> float:
        exact = self.uptime.exact
        if not self.breached or exact is None:
            return 0.0
        return credit_for(float(exact * 100), self.ladder)

    @property
    def downtime_minutes(self) -> float:
        return self.figures.down_seconds(self.uptime.weights) / 60

    @property
    def complete(self) -> bool:
        """The period has ended (otherwise the figures are so far)."""
        return self.uptime.as_of >= self.uptime.end

    def to_dict(self) -> dict[str, Any]:
        u = self.uptime.to_dict()
        return {
            "account": self.external_id, "name": self.name, "arr": float(self.arr), "tier": self.tier,
            "owner": self.owner, "renewal_date": self.renewal_date.isoformat() if self.renewal_date else None,
            "components": self.components,
            "period": {"from": u["from"], "to": u["to"], "minutes": u["period_minutes"],
                       "complete": self.complete},
            "monitored_minutes": u["monitored_minutes"], "coverage_percent": u["coverage_percent"],
            "first_monitored_at": u["first_monitored_at"],
            "uptime_percent": u["uptime_percent"], "target_percent": self.target,
            "verdict": self.verdict, "verdict_text": self.verdict_text, "met": self.met, "breached": self.breached,
            "downtime_minutes": u["downtime_minutes"],
            "major_outage_minutes": u["major_outage_minutes"],
            "partial_outage_minutes": u["partial_outage_minutes"],
            "degraded_performance_minutes": u["degraded_performance_minutes"],
            "maintenance_minutes": u["maintenance_minutes"],
            "counted_minutes": round(self.uptime.counted_seconds / 60, 2),
            "credit_percent": self.credit_percent,
            "incidents": [i.to_dict() for i in self.incidents],
        }


@dataclass
class SlaReport:
    start: dt.datetime
    end: dt.datetime
    weights: Weights
    ladder: list[dict[str, float]]
    min_coverage: float
    rows: list[SlaRow]
    generated_at: dt.datetime

    @property
    def formula(self) -> str:
        return formula_text(self.weights)

    @property
    def rules(self) -> list[str]:
        return rules_text(self.min_coverage, self.ladder)

    @property
    def complete(self) -> bool:
        return self.generated_at >= self.end

    def row(self, external_id: str) -> SlaRow | None:
        return next((r for r in self.rows if r.external_id == external_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "complete": self.complete,
                "formula": self.formula, "rules": self.rules,
                "weights": {"major_outage": 1.0, "partial_outage": self.weights.partial,
                            "degraded_performance": self.weights.degraded},
                "min_coverage_percent": self.min_coverage,
                "credit_ladder": self.ladder, "generated_at": self.generated_at.isoformat(),
                "accounts": [r.to_dict() for r in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    CSV_COLUMNS = ("account", "name", "tier", "owner", "arr", "renewal_date", "components", "period_from",
                   "period_to", "period_minutes", "monitored_minutes", "coverage_percent", "uptime_percent",
                   "target_percent", "result", "met", "downtime_minutes", "major_outage_minutes",
                   "partial_outage_minutes", "degraded_performance_minutes", "maintenance_minutes",
                   "credit_percent", "incident_count", "incidents")

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
                d["period"]["from"], d["period"]["to"], f"{d['period']['minutes']:.2f}",
                f"{d['monitored_minutes']:.2f}", f"{d['coverage_percent']:.2f}",
                "" if d["uptime_percent"] is None else f"{d['uptime_percent']:.2f}",
                "" if r.target is None else f"{r.target:g}", r.verdict_text, met, f"{d['downtime_minutes']:.2f}",
                f"{d['major_outage_minutes']:.2f}", f"{d['partial_outage_minutes']:.2f}",
                f"{d['degraded_performance_minutes']:.2f}", f"{d['maintenance_minutes']:.2f}",
                f"{r.credit_percent:g}", len(r.incidents), _safe(";".join(i.public_id for i in r.incidents))])
        return out.getvalue()

    def to_text(self, tz: dt.tzinfo | None = None) -> str:
        """A human-readable report: one block per account, then the formula and the rules."""
        tz = tz or get_page().tz
        first = self.start.astimezone(tz).date()
        last = (self.end.astimezone(tz) - dt.timedelta(seconds=1)).date()
        lines = [f"SLA report {first.isoformat()} – {last.isoformat()} ({getattr(tz, 'key', 'UTC')})"
                 + ("" if self.complete else " — period in progress, figures so far"), ""]
        for r in self.rows:
            f = r.figures
            target = "none" if r.target is None else f"{r.target:g}%"
            lines.append(f"{r.external_id}  {r.name}  [{', '.join(r.components) or 'no components'}]")
            lines.append(f"  uptime {r.uptime_text}  target {target}  result: {r.verdict_text}"
                         + (f"  credit {r.credit_percent:g}%" if r.credit_percent else ""))
            lines.append(f"  monitored {r.uptime.monitored_seconds / 60:.2f} of {r.uptime.period_seconds / 60:.2f} min"
                         f" (coverage {r.coverage_text}); downtime {r.downtime_minutes:.2f} min weighted"
                         f" (major {f.major_seconds / 60:.2f}, partial {f.partial_seconds / 60:.2f}, degraded"
                         f" {f.degraded_seconds / 60:.2f}); maintenance excluded {f.maintenance_seconds / 60:.2f} min")
            lines.append("  incidents: " + ("; ".join(f"{i.name} ({i.public_id})" for i in r.incidents) or "none"))
        lines += ["", self.formula, *self.rules]
        return "\n".join(lines) + "\n"


def _safe(value: str) -> str:
    """Neutralise spreadsheet formulas in CSV cells (=, +, -, @ at the start)."""
    return "'" + value if value and value[0] in "=+-@\t\r" else value


def formula_text(weights: Weights) -> str:
    """The formula as shown on the report page, in the JSON and the private view."""
    return (f"{uptime_formula(weights)} Over the account's components combined: a minute counts at the worst "
            f"status of any of them, and is maintenance only when all of them are under maintenance.")


def rules_text(min_coverage: float, ladder: list[dict[str, float]], *, credits: bool = True) -> list[str]:
    """The rules a verdict and a credit follow, printed under every report (``credits=False``: without
    the credit ladder, which stays internal — the customer's private view)."""
    ladder_text = "; ".join(f"below {float(r['below']):g}% → {float(r['credit_percent']):g}%" for r in ladder)
    rules = [
        "Coverage = monitored minutes ÷ minutes in the period. Not monitored: time before monitoring began or "
        "before a component's start date, time when monitoring was delayed (no worker ran checks, or too few "
        "of a component's probe locations reported to decide its status), and time still to come.",
        f"A verdict and a credit are given only when coverage is at least {min_coverage:g}%; below that the "
        f"result is “insufficient data”.",
        "SLA met when uptime ≥ target (compared unrounded). " + ROUNDING_TEXT,
    ]
    if credits:
        rules.append("Credit (only when breached): the first rule of the ladder whose threshold is above the uptime"
                     + (f" — {ladder_text}." if ladder else "; no ladder is configured, so no credit."))
    return rules


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
    min_coverage = min_coverage_percent()

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
    coverage = Coverage.load(involved, start, end, now, page.tz)
    uptime_by_set: dict[frozenset[int], Uptime] = {}
    incidents_by_component = _incidents_by_component(involved, start, end)
    incidents_by_set: dict[frozenset[int], list[IncidentRef]] = {}

    rows = []
    for r in account_rows:
        cids = frozenset(sets.get(r.id, ()))
        combined = uptime_by_set.get(cids)
        if combined is None:
            timeline = coverage.monitored_combined({c: segments[c] for c in cids}) if cids else []
            combined = uptime_by_set[cids] = answer(timeline, start, end, now, weights)
        incs = incidents_by_set.get(cids)
        if incs is None:
            seen: dict[str, IncidentRef] = {}
            for c in cids:
                for ref in incidents_by_component.get(c, ()):
                    seen.setdefault(ref.public_id, ref)
            incs = sorted(seen.values(), key=lambda i: (i.started_at or start, i.public_id))
            incidents_by_set[cids] = incs
        rows.append(SlaRow(
            account_id=r.id, external_id=r.external_id, name=r.name, arr=Decimal(r.arr or 0), tier=r.tier,
            owner=r.owner_email, renewal_date=r.renewal_date, components=sorted(names[c] for c in cids),
            target=float(r.sla_target) if r.sla_target is not None else None, uptime=combined,
            min_coverage=min_coverage, ladder=ladder, incidents=incs))
    rows.sort(key=lambda x: (-x.arr, x.name.lower(), x.external_id))
    return SlaReport(start=start, end=end, weights=weights, ladder=ladder, min_coverage=min_coverage, rows=rows,
                     generated_at=now)


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
            reasons.append(f"SLA breached this period: {row.uptime_text} against a target of "
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
