"""Incident reports for the console: counts by cause and impact, MTTD/MTTA/MTTR per month.

Definitions (stated on the page too):
- MTTD, mean time to detect = detected − started
- MTTA, mean time to acknowledge = acknowledged − detected
- MTTR, mean time to resolve = resolved − started
Each is the mean over the published incidents *started* in that month (a calendar month of the page's
time zone) that have both timestamps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from ...db import utcnow
from ...extensions import db
from ...models import Incident
from ..page import get_page

DEFINITIONS = {
    "MTTD": "Mean time to detect: detected − started (impact began).",
    "MTTA": "Mean time to acknowledge: acknowledged − detected.",
    "MTTR": "Mean time to resolve: resolved − started.",
}


@dataclass
class MonthRow:
    """One calendar month (in the page's time zone) of incidents."""

    month: str  # YYYY-MM
    count: int = 0
    by_cause: dict[str, int] = field(default_factory=dict)
    by_impact: dict[str, int] = field(default_factory=dict)
    mttd: float | None = None  # seconds
    mtta: float | None = None
    mttr: float | None = None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _months_back(now: dt.datetime, months: int) -> list[str]:
    y, m = now.year, now.month
    out = []
    for _ in range(months):
        out.append(f"{y:04d}-{m:02d}")
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return out[::-1]


def monthly_report(months: int = 12, now: dt.datetime | None = None) -> list[MonthRow]:
    """The last `months` calendar months of the page's time zone, oldest first, of published incidents by
    start month."""
    tz = get_page().tz
    now = (now or utcnow()).astimezone(tz)
    keys = _months_back(now, months)
    first = dt.datetime.fromisoformat(keys[0] + "-01").replace(tzinfo=tz).astimezone(dt.UTC)
    rows = {k: MonthRow(month=k) for k in keys}
    incidents = db.session.scalars(select(Incident).where(
        Incident.kind == "incident", Incident.published_at.is_not(None),
        Incident.started_at >= first)).all()
    samples: dict[str, dict[str, list[float]]] = {k: {"d": [], "a": [], "r": []} for k in keys}
    for inc in incidents:
        key = inc.started_at.astimezone(tz).strftime("%Y-%m")
        row = rows.get(key)
        if row is None:
            continue
        row.count += 1
        cause = inc.cause_category or "unclassified"
        row.by_cause[cause] = row.by_cause.get(cause, 0) + 1
        impact = inc.effective_impact
        row.by_impact[impact] = row.by_impact.get(impact, 0) + 1
        s = samples[key]
        if inc.detected_at and inc.started_at:
            s["d"].append((inc.detected_at - inc.started_at).total_seconds())
        if inc.acknowledged_at and inc.detected_at:
            s["a"].append((inc.acknowledged_at - inc.detected_at).total_seconds())
        if inc.resolved_at and inc.started_at:
            s["r"].append((inc.resolved_at - inc.started_at).total_seconds())
    for key, row in rows.items():
        row.mttd, row.mtta, row.mttr = (_mean(samples[key][x]) for x in ("d", "a", "r"))
    return [rows[k] for k in keys]


def format_duration(seconds: float | None) -> str:
    """1h 05m / 12m / 40s; an em dash for no data."""
    if seconds is None:
        return "—"
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h {m:02d}m"
    if m:
        return f"{m}m"
    return f"{s}s"
