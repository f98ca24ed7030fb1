"""Response-time series for charts: p50/p95 over the last 24 hours, 7 days and 90 days, from the rollups.

Read-only. Each window is a fixed run of buckets, oldest first, a bucket with no runs having no
figures (the chart leaves a gap): 24 hourly buckets, 168 hourly buckets, 90 daily buckets (UTC hours
and days, as the rollups are kept). Figures come from ``CheckRollup`` rows; the current hour from
:func:`rollups.latency_24h` (which knows how the current hour is being accumulated), and today, not yet
a daily rollup, from today's hours.

Several buckets or several checks are combined by the runs-weighted mean of their percentiles: a
readable summary, not an exact percentile of the union (that would need every sample). Only checks
that measure a response (HTTP, TCP, DNS, TLS) count; heartbeats have no response time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select

from ...db import utcnow
from ...extensions import db
from ...models import Check, CheckRollup
from .rollups import latency_24h

TIMED_KINDS = ("http", "tcp", "dns", "tls")
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class LatencyPoint:
    """One bucket: when it starts, how many runs it holds, their median and 95th percentile (ms)."""

    start: dt.datetime
    runs: int
    p50_ms: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class LatencySeries:
    """One chart: a window ("24h", "7d", "90d") of equal buckets, oldest first."""

    window: str
    label: str
    step: dt.timedelta
    points: tuple[LatencyPoint, ...]

    @property
    def has_data(self) -> bool:
        return any(p.runs and p.p50_ms is not None for p in self.points)

    @property
    def p50_ms(self) -> float | None:
        """The window's median response time (runs-weighted mean of the buckets' medians)."""
        return _weighted([(p.runs, p.p50_ms) for p in self.points])

    @property
    def p95_ms(self) -> float | None:
        """The window's 95th percentile (runs-weighted mean of the buckets' 95th percentiles)."""
        return _weighted([(p.runs, p.p95_ms) for p in self.points])

    @property
    def slowest(self) -> LatencyPoint | None:
        """The bucket with the highest 95th percentile."""
        timed = [p for p in self.points if p.p95_ms is not None]
        return max(timed, key=lambda p: p.p95_ms or 0.0) if timed else None

    def coarser(self, step: dt.timedelta) -> list[LatencyPoint]:
        """The same figures in longer buckets (e.g. 7 days of hours as 7 days), for a table."""
        out: list[LatencyPoint] = []
        if not self.points:
            return out
        origin = self.points[0].start
        groups: dict[int, list[LatencyPoint]] = {}
        for p in self.points:
            groups.setdefault(int((p.start - origin) / step), []).append(p)
        for index in sorted(groups):
            out.append(_combine(origin + index * step, groups[index]))
        return out


def _weighted(pairs: Iterable[tuple[int, float | None]]) -> float | None:
    pairs = list(pairs)
    total = sum(runs for runs, value in pairs if runs and value is not None)
    if not total:
        return None
    return round(sum(runs * value for runs, value in pairs if runs and value is not None) / total, 1)


def _combine(start: dt.datetime, points: Sequence[LatencyPoint]) -> LatencyPoint:
    return LatencyPoint(start, sum(p.runs for p in points), _weighted([(p.runs, p.p50_ms) for p in points]),
                        _weighted([(p.runs, p.p95_ms) for p in points]))


def timed_check_ids(component_id: int) -> list[int]:
    """The active checks of a component that measure a response time."""
    return list(db.session.scalars(select(Check.id).where(
        Check.component_id == component_id, Check.archived_at.is_(None), Check.kind.in_(TIMED_KINDS))))


def latency_series(check_ids: Sequence[int], now: dt.datetime | None = None) -> list[LatencySeries]:
    """The three windows (24 h, 7 d, 90 d) for these checks combined; empty series when there are none."""
    now = now or utcnow()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    today = this_hour.replace(hour=0)
    week_start = this_hour - 167 * HOUR
    quarter_start = today - 89 * DAY
    hours: dict[dt.datetime, list[LatencyPoint]] = {}
    days: dict[dt.datetime, list[LatencyPoint]] = {}
    if check_ids:
        rows = db.session.execute(
            select(CheckRollup.period, CheckRollup.period_start, CheckRollup.runs, CheckRollup.p50_ms,
                   CheckRollup.p95_ms)
            .where(CheckRollup.check_id.in_(list(check_ids)),
                   ((CheckRollup.period == "hour") & (CheckRollup.period_start >= week_start))
                   | ((CheckRollup.period == "day") & (CheckRollup.period_start >= quarter_start)))).all()
        for period, start, runs, p50, p95 in rows:
            target = hours if period == "hour" else days
            target.setdefault(start, []).append(LatencyPoint(start, runs or 0, p50, p95))
        # The last 24 hours as the check page shows them: it includes the hour still running.
        recent: dict[dt.datetime, list[LatencyPoint]] = {}
        for check_id in check_ids:
            for row in latency_24h(check_id, now):
                start = dt.datetime.fromisoformat(row["hour"])
                if row["runs"]:
                    recent.setdefault(start, []).append(
                        LatencyPoint(start, row["runs"], row["p50_ms"], row["p95_ms"]))
        hours.update(recent)
    hour_points = {start: _combine(start, pts) for start, pts in hours.items()}
    day_points = {start: _combine(start, pts) for start, pts in days.items()}
    todays = [p for start, p in hour_points.items() if start >= today]
    if todays and today not in day_points:
        day_points[today] = _combine(today, todays)

    def run(start: dt.datetime, count: int, step: dt.timedelta, points: dict) -> tuple[LatencyPoint, ...]:
        return tuple(points.get(start + i * step) or LatencyPoint(start + i * step, 0, None, None)
                     for i in range(count))

    return [
        LatencySeries("24h", "Last 24 hours", HOUR, run(this_hour - 23 * HOUR, 24, HOUR, hour_points)),
        LatencySeries("7d", "Last 7 days", HOUR, run(week_start, 168, HOUR, hour_points)),
        LatencySeries("90d", "Last 90 days", DAY, run(quarter_start, 90, DAY, day_points)),
    ]
