"""Uptime from component status intervals, and the daily rollups that the 90-day bars read.

The formula (stated on the public page too)::

    uptime = 1 − (major + w_partial × partial + w_degraded × degraded) / (tracked − maintenance)

where each term is the time in that status inside the period, ``tracked`` is the part of the period
covered by status intervals (time before a component existed, or in the future, is not counted) and
time ``under_maintenance`` is excluded from the period. Weights come from ``Page.partial_outage_weight``
and ``Page.degraded_weight`` (major outage always weighs 1, operational 0).

Combined uptime of several components (an account's SLA) is the same formula over the union of their
time: at each instant the combined status is the worst status among the components that are tracked
then and not under maintenance (an instant counts as down if any of the account's components is down,
weighted by the worst one); it is maintenance — excluded from the period — only when every tracked
component is under maintenance.

Raw check results are never read here: only ``ComponentStatusInterval`` rows and the
``ComponentUptimeDay`` rollups (UTC days) written by :func:`rollup_uptime`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select

from ..db import utcnow
from ..extensions import db
from ..models import Component, ComponentStatusInterval, ComponentUptimeDay
from ..models.constants import STATUS_SEVERITY
from .page import bump_site_version, get_page

DAY = dt.timedelta(days=1)
BAR_DAYS = 90
# Intervals written up to this long before a rollup run are still picked up by the next one
# (a status change's timestamp is taken before its transaction commits).
WATERMARK_SLACK = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Weights:
    """How much of a minute counts as down in each non-operational status."""

    partial: float = 0.3
    degraded: float = 0.0

    @classmethod
    def from_page(cls) -> Weights:
        page = get_page()
        return cls(partial=float(page.partial_outage_weight if page.partial_outage_weight is not None else 0.3),
                   degraded=float(page.degraded_weight or 0.0))


@dataclass
class UptimeFigures:
    """Seconds per status inside a period, and the uptime they give."""

    major_seconds: float = 0.0
    partial_seconds: float = 0.0
    degraded_seconds: float = 0.0
    maintenance_seconds: float = 0.0
    tracked_seconds: float = 0.0
    worst_status: str | None = None  # None: no tracked time at all

    def add(self, status: str, seconds: float) -> None:
        """Account ``seconds`` spent in ``status``."""
        if seconds <= 0:
            return
        self.tracked_seconds += seconds
        if status == "major_outage":
            self.major_seconds += seconds
        elif status == "partial_outage":
            self.partial_seconds += seconds
        elif status == "degraded_performance":
            self.degraded_seconds += seconds
        elif status == "under_maintenance":
            self.maintenance_seconds += seconds
        if self.worst_status is None or STATUS_SEVERITY[status] > STATUS_SEVERITY[self.worst_status]:
            self.worst_status = status

    def merge(self, other: UptimeFigures) -> None:
        """Add another period's figures to these (periods must not overlap)."""
        self.major_seconds += other.major_seconds
        self.partial_seconds += other.partial_seconds
        self.degraded_seconds += other.degraded_seconds
        self.maintenance_seconds += other.maintenance_seconds
        self.tracked_seconds += other.tracked_seconds
        if other.worst_status is not None and (
                self.worst_status is None
                or STATUS_SEVERITY[other.worst_status] > STATUS_SEVERITY[self.worst_status]):
            self.worst_status = other.worst_status

    def down_seconds(self, weights: Weights) -> float:
        """Weighted downtime: major counts fully, partial and degraded by their weights."""
        return (self.major_seconds + weights.partial * self.partial_seconds
                + weights.degraded * self.degraded_seconds)

    def uptime(self, weights: Weights) -> float | None:
        """Uptime as a fraction in [0, 1]; None when the period has no tracked, non-maintenance time."""
        period = self.tracked_seconds - self.maintenance_seconds
        if period <= 1e-9:
            return None
        return max(0.0, min(1.0, 1.0 - self.down_seconds(weights) / period))

    @classmethod
    def from_rollup(cls, row: ComponentUptimeDay) -> UptimeFigures:
        return cls(major_seconds=row.major_seconds, partial_seconds=row.partial_seconds,
                   degraded_seconds=row.degraded_seconds, maintenance_seconds=row.maintenance_seconds,
                   tracked_seconds=row.tracked_seconds,
                   worst_status=row.worst_status if row.tracked_seconds > 0 else None)


@dataclass
class UptimeReport:
    """Per component and combined figures over one period, with the weights used."""

    start: dt.datetime
    end: dt.datetime
    weights: Weights
    components: dict[int, UptimeFigures] = field(default_factory=dict)
    combined: UptimeFigures = field(default_factory=UptimeFigures)

    def uptime(self, component_id: int | None = None) -> float | None:
        """Uptime fraction of one component, or the combined figure when ``component_id`` is None."""
        figures = self.combined if component_id is None else self.components.get(component_id)
        return None if figures is None else figures.uptime(self.weights)


# --- computing from intervals -------------------------------------------------------------------------


Segment = tuple[dt.datetime, dt.datetime, str]


def load_segments(component_ids: Sequence[int], start: dt.datetime, end: dt.datetime,
                   now: dt.datetime) -> dict[int, list[Segment]]:
    """Status intervals of the components clipped to [start, min(end, now)), ordered by start."""
    stop = min(end, now)
    out: dict[int, list[Segment]] = {cid: [] for cid in component_ids}
    if not component_ids or stop <= start:
        return out
    rows = db.session.execute(
        select(ComponentStatusInterval.component_id, ComponentStatusInterval.status,
               ComponentStatusInterval.started_at, ComponentStatusInterval.ended_at)
        .where(ComponentStatusInterval.component_id.in_(list(component_ids)),
               ComponentStatusInterval.started_at < stop,
               or_(ComponentStatusInterval.ended_at.is_(None), ComponentStatusInterval.ended_at > start))
        .order_by(ComponentStatusInterval.component_id, ComponentStatusInterval.started_at,
                  ComponentStatusInterval.id)
    ).all()
    for cid, status, s, e in rows:
        seg_start = max(s, start)
        seg_end = min(e or stop, stop)
        if seg_end > seg_start:
            out[cid].append((seg_start, seg_end, status))
    return out


def figures_from_segments(segments: Iterable[Segment]) -> UptimeFigures:
    """Sum the time of each status over some (non-overlapping) segments."""
    figures = UptimeFigures()
    for s, e, status in segments:
        figures.add(status, (e - s).total_seconds())
    return figures


def combine_segments(per_component: Iterable[list[Segment]]) -> list[Segment]:
    """The combined timeline of several components (see the module docstring for the rule)."""
    lists = [sorted(segs) for segs in per_component if segs]
    points = sorted({p for segs in lists for s, e, _ in segs for p in (s, e)})
    out: list[Segment] = []
    cursors = [0] * len(lists)
    for a, b in zip(points, points[1:], strict=False):
        statuses: list[str] = []
        for i, segs in enumerate(lists):
            while cursors[i] < len(segs) and segs[cursors[i]][1] <= a:
                cursors[i] += 1
            if cursors[i] < len(segs) and segs[cursors[i]][0] <= a:
                statuses.append(segs[cursors[i]][2])
        if not statuses:
            continue
        active = [s for s in statuses if s != "under_maintenance"]
        status = "under_maintenance" if not active else max(active, key=STATUS_SEVERITY.__getitem__)
        if out and out[-1][2] == status and out[-1][1] == a:
            out[-1] = (out[-1][0], b, status)
        else:
            out.append((a, b, status))
    return out


def component_uptime(component_ids: Sequence[int], start: dt.datetime, end: dt.datetime, *,
                     now: dt.datetime | None = None, weights: Weights | None = None) -> UptimeReport:
    """Uptime of each component and of all of them combined over [start, end).

    Computed exactly from status intervals (a handful of rows per component per day). Time after
    ``now`` is not counted; open intervals run until ``now``. ``combined`` is the union rule of the
    module docstring: what an account using these components experienced.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    now = now or utcnow()
    weights = weights or Weights.from_page()
    ids = list(dict.fromkeys(component_ids))
    segments = load_segments(ids, start, end, now)
    report = UptimeReport(start=start, end=end, weights=weights)
    for cid in ids:
        report.components[cid] = figures_from_segments(segments[cid])
    report.combined = figures_from_segments(combine_segments(segments.values()))
    return report


# --- daily rollups ----------------------------------------------------------------------------------


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a UTC day."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return start, start + DAY


def _split_by_day(segments: list[Segment]) -> dict[dt.date, UptimeFigures]:
    out: dict[dt.date, UptimeFigures] = defaultdict(UptimeFigures)
    for s, e, status in segments:
        cur = s
        while cur < e:
            day_end = day_bounds(cur.date())[1]
            piece_end = min(e, day_end)
            out[cur.date()].add(status, (piece_end - cur).total_seconds())
            cur = piece_end
    return out


def _visible(figures: UptimeFigures | None, weights: Weights) -> tuple:
    if figures is None or figures.tracked_seconds <= 0:
        return (None, None)
    up = figures.uptime(weights)
    return (figures.worst_status, None if up is None else round(up * 100, 2))


def rollup_uptime(now: dt.datetime | None = None) -> int:
    """Recompute the daily rollups that may have changed; the worker calls this every minute. Commits.

    Recomputed: today; any day in the 90-day window without a row (from the component's first
    interval on); any day whose row was computed before the day ended (so a closed day is
    computed once more after midnight, then is final); and days touched by intervals that started
    or ended since the previous run. Bumps the site version when a public component's bar or
    percentage for a day changes. Returns the number of rows written. The caller commits.
    """
    now = now or utcnow()
    today = now.date()
    window_start = today - dt.timedelta(days=BAR_DAYS - 1)
    weights = Weights.from_page()
    components = db.session.execute(
        select(Component.id, Component.public).where(Component.archived_at.is_(None))).all()
    if not components:
        return 0
    public = {cid for cid, is_public in components if is_public}
    ids = [cid for cid, _ in components]

    existing: dict[tuple[int, dt.date], ComponentUptimeDay] = {
        (r.component_id, r.day): r for r in db.session.scalars(
            select(ComponentUptimeDay).where(ComponentUptimeDay.component_id.in_(ids),
                                             ComponentUptimeDay.day >= window_start))}
    first_seen = dict(db.session.execute(
        select(ComponentStatusInterval.component_id, func.min(ComponentStatusInterval.started_at))
        .where(ComponentStatusInterval.component_id.in_(ids))
        .group_by(ComponentStatusInterval.component_id)).all())
    watermark = max((r.computed_at for r in existing.values()), default=None)

    due: dict[int, set[dt.date]] = defaultdict(set)
    for cid in ids:
        first = first_seen.get(cid)
        if first is None:
            continue
        day = max(window_start, first.date())
        while day <= today:
            row = existing.get((cid, day))
            if row is None or day == today or row.computed_at < day_bounds(day)[1]:
                due[cid].add(day)
            day += DAY
    if watermark is not None:
        since = watermark - WATERMARK_SLACK
        for cid, s, e in db.session.execute(
                select(ComponentStatusInterval.component_id, ComponentStatusInterval.started_at,
                       ComponentStatusInterval.ended_at)
                .where(ComponentStatusInterval.component_id.in_(ids),
                       or_(ComponentStatusInterval.started_at >= since,
                           ComponentStatusInterval.ended_at >= since))).all():
            for moment in (s, e):
                if moment is not None and moment >= since and window_start <= moment.date() <= today:
                    due[cid].add(moment.date())
    if not due:
        return 0

    first_day = min(d for days in due.values() for d in days)
    segments = load_segments(list(due), day_bounds(first_day)[0], day_bounds(today)[1], now)
    written = 0
    visible_change = False
    for cid, days in due.items():
        per_day = _split_by_day(segments[cid])
        for day in days:
            figures = per_day.get(day, UptimeFigures())
            row = existing.get((cid, day))
            before = _visible(UptimeFigures.from_rollup(row), weights) if row is not None else (None, None)
            if row is None:
                row = ComponentUptimeDay(component_id=cid, day=day)
                db.session.add(row)
            row.major_seconds = figures.major_seconds
            row.partial_seconds = figures.partial_seconds
            row.degraded_seconds = figures.degraded_seconds
            row.maintenance_seconds = figures.maintenance_seconds
            row.tracked_seconds = figures.tracked_seconds
            row.worst_status = figures.worst_status or "operational"
            row.computed_at = now
            written += 1
            if cid in public and _visible(figures, weights) != before:
                visible_change = True
    if visible_change:
        bump_site_version()
    db.session.commit()
    return written


def invalidate_uptime_days(component_id: int, first_day: dt.date, last_day: dt.date) -> None:
    """Forget rollups of some days (after history was edited backwards); the next run recomputes them."""
    db.session.execute(delete(ComponentUptimeDay).where(
        ComponentUptimeDay.component_id == component_id,
        ComponentUptimeDay.day >= first_day, ComponentUptimeDay.day <= last_day))


# --- the 90-day bars --------------------------------------------------------------------------------


@dataclass(slots=True)
class DayBar:
    day: dt.date
    status: str | None  # worst status that day; None = no data
    uptime: float | None  # fraction


@dataclass
class ComponentBars:
    days: list[DayBar]
    figures: UptimeFigures  # summed over the window

    def uptime(self, weights: Weights) -> float | None:
        return self.figures.uptime(weights)


# Closed days' rollups are final until the rollup job rewrites them (which moves computed_at): a
# process keeps the last few windows it loaded and revalidates them with one aggregate query.
_ROLLUP_CACHE: dict[tuple, tuple[Any, dict[tuple[int, dt.date], tuple]]] = {}
_ROLLUP_CACHE_MAX = 8


def _closed_day_rollups(ids: list[int], first: dt.date, today: dt.date) -> dict[tuple[int, dt.date], tuple]:
    if not ids:
        return {}
    t = ComponentUptimeDay.__table__.c
    conn = db.session.connection()
    generation = conn.execute(
        select(func.max(t.computed_at), func.count()).where(t.component_id.in_(ids), t.day >= first,
                                                             t.day < today)).first()
    key = (str(conn.engine.url), tuple(ids), first, today)
    cached = _ROLLUP_CACHE.get(key)
    if cached is not None and cached[0] == tuple(generation):
        return cached[1]
    # Core rows on the session's connection, not ORM objects: 50 components × 90 days must load fast.
    stmt = (select(t.component_id, t.day, t.major_seconds, t.partial_seconds, t.degraded_seconds,
                   t.maintenance_seconds, t.tracked_seconds, t.worst_status)
            .where(t.component_id.in_(ids), t.day >= first, t.day < today))
    rollups = {(row[0], row[1]): tuple(row) for row in conn.execute(stmt)}
    if len(_ROLLUP_CACHE) >= _ROLLUP_CACHE_MAX:
        _ROLLUP_CACHE.pop(next(iter(_ROLLUP_CACHE)))
    _ROLLUP_CACHE[key] = (tuple(generation), rollups)
    return rollups


def uptime_bars(components: Sequence[Component], now: dt.datetime | None = None, *,
                days: int = BAR_DAYS, weights: Weights | None = None) -> dict[int, ComponentBars]:
    """The last ``days`` UTC days per component: closed days from rollups, today computed live.

    Days before a component's ``start_date`` have no data. Two queries for any number of components.
    """
    now = now or utcnow()
    weights = weights or Weights.from_page()
    today = now.date()
    first = today - dt.timedelta(days=days - 1)
    ids = [c.id for c in components]
    rollups = _closed_day_rollups(ids, first, today)
    live = load_segments(ids, day_bounds(today)[0], day_bounds(today)[1], now)
    day_list = [first + dt.timedelta(days=i) for i in range(days)]
    wp, wd = weights.partial, weights.degraded
    out: dict[int, ComponentBars] = {}
    for comp in components:
        bars: list[DayBar] = []
        total = UptimeFigures()
        cid, start_date = comp.id, comp.start_date
        for day in day_list:
            if start_date is not None and day < start_date:
                bars.append(DayBar(day, None, None))
                continue
            if day == today:
                figures = figures_from_segments(live[cid])
                total.merge(figures)
                bars.append(DayBar(day, figures.worst_status, figures.uptime(weights)))
                continue
            row = rollups.get((cid, day))
            if row is None or row[6] <= 0:
                bars.append(DayBar(day, None, None))
                continue
            _, _, major, partial, degraded, maint, tracked, worst_status = row
            total.major_seconds += major
            total.partial_seconds += partial
            total.degraded_seconds += degraded
            total.maintenance_seconds += maint
            total.tracked_seconds += tracked
            if total.worst_status is None or STATUS_SEVERITY[worst_status] > STATUS_SEVERITY[total.worst_status]:
                total.worst_status = worst_status
            period = tracked - maint
            up = None if period <= 1e-9 else max(0.0, min(1.0, 1.0 - (major + wp * partial + wd * degraded) / period))
            bars.append(DayBar(day, worst_status, up))
        out[cid] = ComponentBars(bars, total)
    return out


def format_percent(fraction: float | None) -> str:
    """'99.95%' (two decimals, never rounding a real outage up to 100%); '—' without data."""
    if fraction is None:
        return "—"
    value = fraction * 100
    text = f"{value:.2f}"
    if text == "100.00" and fraction < 1.0:
        text = "99.99"
    return f"{text}%"
