"""Uptime: the one computation behind every figure — public bars and percentages, badges, the private
account view, SLA reports, impact minutes, exports.

The formula (stated on every surface that shows a figure)::

    uptime = 1 − (major + w_partial × partial + w_degraded × degraded) / (monitored − maintenance)

where each term is *monitored* time in that status inside the window. Weights come from
``Page.partial_outage_weight`` and ``Page.degraded_weight`` (major outage always weighs 1,
operational 0); time ``under_maintenance`` is excluded from the denominator.

**Coverage.** Only monitored time counts. Not monitored — left out of the denominator and said in
words ("99.98% over the 3 days since monitoring began") — is time:

* before the component's first status interval (it did not exist, or monitoring had not begun);
* before its ``start_date`` (a local date of the page's zone);
* in a monitoring gap (``services.monitoring_gaps``: no worker ran checks), for components whose
  status comes from checks;
* while the component's monitoring was delayed (``ComponentMonitoringDelay``: a check probed from
  several locations had too few fresh ones to decide its quorum — the page said "Monitoring data
  delayed"), an ongoing delay until ``now``;
* after ``now``.

``coverage = monitored / window``. A window without monitored time has no uptime (None, "no data").

**Several components combined** (an account's SLA): at each instant the combined status is the worst
status among the components monitored then; it is maintenance only when every one of them is under
maintenance. An instant inside a monitoring gap is not monitored when any of the components has checks,
and an instant when any of them was delayed is not monitored either: its worst status cannot be decided.

**Days** are local days of the page's time zone (a DST day has 23 or 25 hours). Closed days are
cached in ``ComponentUptimeDay`` rollups (:func:`rollup_uptime`); a day without a final rollup — today,
a day touched by a gap, a day whose rollup predates its end, a rollup of another zone — is computed from
the intervals on the spot, so a bar sum always equals :func:`component_uptime` over the same window.

**Rounding.** Percentages are rounded *down* to two decimals (:func:`format_ratio`): 99.996% shows
as 99.99%, a figure never claims more uptime than was measured, and 100.00% means no downtime at all.

**One clock for figures.** Surfaces compute "now" with :func:`uptime_clock` (the current minute), so
the trust page, a component page, a badge and the private view rendered in the same minute agree to
the last digit (public caches also key on the minute).

Raw check results are never read here: only ``ComponentStatusInterval`` rows, ``MonitoringGap`` and
``ComponentMonitoringDelay`` rows and the rollups.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, or_, select

from ..db import utcnow
from ..extensions import db
from ..models import Component, ComponentStatusInterval, ComponentUptimeDay
from ..models.constants import STATUS_SEVERITY
from .monitoring_gaps import (
    Gap,
    checked_component_ids,
    component_delays,
    merge_gaps,
    ongoing_gap,
    recorded_gaps,
)
from .page import bump_site_version, get_page

DAY = dt.timedelta(days=1)
BAR_DAYS = 90
# Intervals written up to this long before a rollup run are still picked up by the next one
# (a status change's timestamp is taken before its transaction commits).
WATERMARK_SLACK = dt.timedelta(minutes=5)
NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ROUNDING_TEXT = ("Percentages are rounded down to two decimals, so a figure never shows more uptime than "
                 "was measured.")


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


def _micro(seconds: float) -> int:
    # Seconds to the microsecond, as an integer: sums taken in a different order give the same figure.
    return round(seconds * 1_000_000)


@functools.lru_cache(maxsize=1 << 16)
def _uptime_ratio(major: float, partial: float, degraded: float, maintenance: float, tracked: float,
                  w_partial: float, w_degraded: float) -> tuple[int, int] | None:
    """Uptime as an exact ratio of integers (numerator, denominator), clamped to [0, 1]; None when there is
    no monitored, non-maintenance time. Integer arithmetic (no floats, no Fraction objects): the trust page
    evaluates it for 4,500 day bars per render, and identical days hit the cache."""
    counted = _micro(tracked) - _micro(maintenance)
    if counted <= 0:
        return None
    wp, wd = Fraction(str(w_partial)), Fraction(str(w_degraded))
    scale = wp.denominator * wd.denominator
    down = (_micro(major) * scale + _micro(partial) * wp.numerator * wd.denominator
            + _micro(degraded) * wd.numerator * wp.denominator)
    den = counted * scale
    return max(0, min(den, den - down)), den


@dataclass
class UptimeFigures:
    """Monitored seconds per status inside a period, and the uptime they give."""

    major_seconds: float = 0.0
    partial_seconds: float = 0.0
    degraded_seconds: float = 0.0
    maintenance_seconds: float = 0.0
    tracked_seconds: float = 0.0  # monitored seconds (maintenance included)
    worst_status: str | None = None  # None: no monitored time at all

    def add(self, status: str, seconds: float) -> None:
        """Account ``seconds`` spent in ``status``."""
        if seconds <= 0:
            return
        self.__dict__.pop("_ratio", None)
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
        self.__dict__.pop("_ratio", None)
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

    def ratio(self, weights: Weights) -> tuple[int, int] | None:
        """Uptime as an exact (numerator, denominator) in [0, 1]; None without monitored, non-maintenance time."""
        memo = self.__dict__.get("_ratio")
        if memo is not None and memo[0] == weights:
            return memo[1]
        ratio = _uptime_ratio(self.major_seconds, self.partial_seconds, self.degraded_seconds,
                              self.maintenance_seconds, self.tracked_seconds, weights.partial, weights.degraded)
        self.__dict__["_ratio"] = (weights, ratio)  # rollup figures are shared across renders
        return ratio

    def exact_uptime(self, weights: Weights) -> Fraction | None:
        """Uptime as an exact fraction in [0, 1]; None when there is no monitored, non-maintenance time."""
        ratio = self.ratio(weights)
        return None if ratio is None else Fraction(*ratio)

    def uptime(self, weights: Weights) -> float | None:
        """Uptime as a float fraction in [0, 1]; None when there is no monitored, non-maintenance time."""
        ratio = self.ratio(weights)
        return None if ratio is None else ratio[0] / ratio[1]

    def text(self, weights: Weights) -> str:
        """The uptime as every surface shows it (:func:`format_ratio`)."""
        return format_ratio(self.ratio(weights))

    @classmethod
    def from_rollup(cls, row: ComponentUptimeDay) -> UptimeFigures:
        return cls(major_seconds=row.major_seconds, partial_seconds=row.partial_seconds,
                   degraded_seconds=row.degraded_seconds, maintenance_seconds=row.maintenance_seconds,
                   tracked_seconds=row.tracked_seconds,
                   worst_status=row.worst_status if row.tracked_seconds > 0 else None)


# --- rounding and words ------------------------------------------------------------------------------


def hundredths(ratio: tuple[int, int] | None) -> int | None:
    """The percentage every surface shows, in hundredths of a percent, rounded down (9961 = 99.61%)."""
    return None if ratio is None else ratio[0] * 10_000 // ratio[1]


@functools.lru_cache(maxsize=1 << 14)
def _format_hundredths(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}%"


@functools.lru_cache(maxsize=1 << 14)
def format_ratio(ratio: tuple[int, int] | None) -> str:
    """'99.95%' (rounded down to two decimals: a real outage never shows as 100.00%); '—' without data."""
    value = hundredths(ratio)
    return "—" if value is None else _format_hundredths(value)


def percent_of(fraction: Fraction | float | None) -> Decimal | None:
    """The percentage every surface shows: rounded down to two decimals (Decimal), None without data."""
    if fraction is None:
        return None
    exact = fraction if isinstance(fraction, Fraction) else Fraction(repr(float(fraction)))
    return Decimal(math.floor(min(exact, Fraction(1)) * 10_000)) / 100


def format_percent(fraction: Fraction | float | None) -> str:
    """'99.95%' (rounded down to two decimals: a real outage never shows as 100.00%); '—' without data."""
    value = percent_of(fraction)
    return "—" if value is None else f"{value.quantize(Decimal('0.01'), rounding=ROUND_FLOOR)}%"


def format_coverage(fraction: float | None) -> str:
    """Coverage as a percentage, rounded down to two decimals ('0.03%'); never 100% unless complete."""
    return format_percent(fraction)


def format_duration(seconds: float) -> str:
    """'3 days', '5 hours', '11 minutes' (to the nearest unit; 'less than a minute')."""
    seconds = max(0.0, seconds)
    if seconds >= 2 * 86400 - 1800:
        n, unit = int(seconds / 86400 + 0.5), "day"
    elif seconds >= 2 * 3600 - 30:
        n, unit = int(seconds / 3600 + 0.5), "hour"
    elif seconds >= 60:
        n, unit = int(seconds / 60 + 0.5), "minute"
    else:
        return "less than a minute"
    return f"{n} {unit}{'s' if n != 1 else ''}"


def uptime_formula(weights: Weights) -> str:
    """The formula in words, the same on every surface."""
    degraded = f" + {weights.degraded:g} × degraded-performance minutes" if weights.degraded else ""
    note = "" if weights.degraded else " Degraded performance counts as up."
    return (f"Uptime = 1 − (major-outage minutes + {weights.partial:g} × partial-outage minutes{degraded}) ÷ "
            f"(monitored minutes − scheduled-maintenance minutes).{note}")


COVERAGE_TEXT = ("Only monitored time counts: time before monitoring began, and time when monitoring itself was "
                 "delayed, is left out and said.")


def uptime_clock(now: dt.datetime | None = None) -> dt.datetime:
    """The instant figures are computed at: the current minute (surfaces rendered in it agree)."""
    now = now or utcnow()
    return now.replace(second=0, microsecond=0)


# --- local days ----------------------------------------------------------------------------------------


def page_zone() -> tuple[dt.tzinfo, str]:
    """The page's time zone and the name rollups are keyed by ('UTC' when unset or unknown)."""
    tz = get_page().tz
    return tz, getattr(tz, "key", "UTC")


def day_bounds(day: dt.date, tz: dt.tzinfo = dt.UTC) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local day of ``tz``, in UTC (23 or 25 hours long on a DST change)."""
    start = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day + DAY, dt.time(), tz).astimezone(dt.UTC)
    return start, end


def local_date(moment: dt.datetime, tz: dt.tzinfo) -> dt.date:
    return moment.astimezone(tz).date()


# --- one window's answer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Uptime:
    """Uptime of one component (or several combined) over [start, end), measured until ``as_of``."""

    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime  # min(end, now): time after it is not monitored (yet)
    figures: UptimeFigures
    weights: Weights
    first_monitored: dt.datetime | None = None  # first monitored instant in the window

    @property
    def period_seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())

    @property
    def monitored_seconds(self) -> float:
        return self.figures.tracked_seconds

    @property
    def counted_seconds(self) -> float:
        """The formula's denominator: monitored time minus maintenance."""
        return max(0.0, self.figures.tracked_seconds - self.figures.maintenance_seconds)

    @property
    def coverage(self) -> float:
        """Monitored share of the whole window, in [0, 1]."""
        period = self.period_seconds
        return 0.0 if period <= 0 else min(1.0, self.monitored_seconds / period)

    @property
    def exact(self) -> Fraction | None:
        return self.figures.exact_uptime(self.weights)

    @property
    def fraction(self) -> float | None:
        exact = self.exact
        return None if exact is None else float(exact)

    @property
    def percent(self) -> Decimal | None:
        """Rounded down to two decimals; None without monitored time."""
        value = hundredths(self.figures.ratio(self.weights))
        return None if value is None else Decimal(value) / 100

    @property
    def text(self) -> str:
        return self.figures.text(self.weights)

    @property
    def fully_covered(self) -> bool:
        return self.period_seconds - self.monitored_seconds < 1.0

    @property
    def since_monitoring_began(self) -> bool:
        """Everything from the first monitored instant until ``as_of`` was monitored (only the start is missing)."""
        if self.first_monitored is None:
            return False
        return (self.as_of - self.first_monitored).total_seconds() - self.monitored_seconds < 1.0

    def span(self, window: str) -> str:
        """What the figure covers, in words: 'over the past 90 days', 'over the 3 days since monitoring
        began', 'over 2 days monitored in the past 90 days (coverage 2.41%)', or 'no data'.

        ``window`` names the whole window ('the past 90 days', 'March 2026').
        """
        if self.percent is None:
            return f"no data for {window}"
        if self.fully_covered:
            return f"over {window}"
        if self.since_monitoring_began and self.first_monitored is not None:
            return f"over the {format_duration((self.as_of - self.first_monitored).total_seconds())} since monitoring began"
        return (f"over {format_duration(self.monitored_seconds)} monitored in {window} "
                f"(coverage {format_coverage(self.coverage)})")

    def sentence(self, window: str) -> str:
        """'99.98% uptime over the 3 days since monitoring began' / 'No data for the past 90 days'."""
        if self.percent is None:
            return f"No data for {window}"
        return f"{self.text} uptime {self.span(window)}"

    def to_dict(self) -> dict[str, Any]:
        """Machine-readable figures (UTC times, minutes to two decimals, the rounded percentage)."""
        f = self.figures
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "as_of": self.as_of.isoformat(),
                "uptime_percent": None if self.percent is None else float(self.percent),
                "period_minutes": round(self.period_seconds / 60, 2),
                "monitored_minutes": round(self.monitored_seconds / 60, 2),
                "coverage_percent": float(percent_of(self.coverage) or 0),
                "first_monitored_at": self.first_monitored.isoformat() if self.first_monitored else None,
                "major_outage_minutes": round(f.major_seconds / 60, 2),
                "partial_outage_minutes": round(f.partial_seconds / 60, 2),
                "degraded_performance_minutes": round(f.degraded_seconds / 60, 2),
                "maintenance_minutes": round(f.maintenance_seconds / 60, 2),
                "downtime_minutes": round(f.down_seconds(self.weights) / 60, 2)}


@dataclass
class UptimeReport:
    """Per component and combined answers over one window, with the weights used."""

    start: dt.datetime
    end: dt.datetime
    weights: Weights
    components: dict[int, Uptime] = field(default_factory=dict)
    combined: Uptime | None = None

    def uptime(self, component_id: int | None = None) -> float | None:
        """Uptime fraction of one component, or the combined figure when ``component_id`` is None."""
        answer = self.combined if component_id is None else self.components.get(component_id)
        return None if answer is None else answer.fraction


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


def subtract(segments: Iterable[Segment], holes: Sequence[Gap]) -> list[Segment]:
    """The parts of ``segments`` outside the (sorted, non-overlapping) ``holes``."""
    out: list[Segment] = []
    for s, e, status in segments:
        cur = s
        for hs, he in holes:
            if he <= cur or hs >= e:
                continue
            if hs > cur:
                out.append((cur, hs, status))
            cur = max(cur, he)
            if cur >= e:
                break
        if cur < e:
            out.append((cur, e, status))
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
        if out and out[-1][1] == a and out[-1][2] == status:
            out[-1] = (out[-1][0], b, status)
        else:
            out.append((a, b, status))
    return out


def stale_after_seconds() -> int:
    """The staleness threshold of monitoring (``STATUSPAGE_MONITORING_STALE_AFTER``)."""
    return int(current_app.extensions["statuspage.settings"].monitoring_stale_after)


@dataclass
class Coverage:
    """What was not monitored in a window, per component: before ``start_date``, gaps for components
    with checks, and the component's own delays (quorum not decidable). Built once per computation (a
    few small queries) and shared by every component in it."""

    tz: dt.tzinfo
    start_dates: dict[int, dt.date | None]
    checked: set[int]
    gaps: list[Gap]
    ongoing: Gap | None = None  # the gap going on now, if any (also in ``gaps``)
    delays: dict[int, list[Gap]] = field(default_factory=dict)  # per component, clipped, merged
    delayed_now: set[int] = field(default_factory=set)  # components whose delay runs until now

    @classmethod
    def load(cls, component_ids: Sequence[int], start: dt.datetime, end: dt.datetime, now: dt.datetime,
             tz: dt.tzinfo | None = None) -> Coverage:
        ids = list(component_ids)
        start_dates = dict(db.session.execute(
            select(Component.id, Component.start_date).where(Component.id.in_(ids))).all()) if ids else {}
        checked = checked_component_ids() & set(ids)
        gaps: list[Gap] = []
        ongoing = None
        stop = min(end, now)
        if checked and stop > start:
            gaps = recorded_gaps(start, stop)
            ongoing = ongoing_gap(stale_after_seconds(), now)
            gaps = merge_gaps(gaps + ([ongoing] if ongoing else []), start, stop)
        delays = component_delays(ids, start, end, now)
        delayed_now = {cid for cid, spans in delays.items() if spans[-1][1] >= now}
        return cls(tz or get_page().tz, start_dates, checked, gaps, ongoing, delays, delayed_now)

    def began(self, component_id: int) -> dt.datetime | None:
        """Local midnight of the component's start_date (None: no start date)."""
        day = self.start_dates.get(component_id)
        return None if day is None else day_bounds(day, self.tz)[0]

    def holes_before_start(self, component_id: int) -> list[Gap]:
        began = self.began(component_id)
        return [] if began is None else [(NEVER, began)]

    def holes(self, component_id: int) -> list[Gap]:
        """Not-monitored time of one component (sorted, merged)."""
        out = self.holes_before_start(component_id)
        if component_id in self.checked:
            out = out + self.gaps
        return merge_gaps(out + self.delays.get(component_id, []))

    def monitored(self, component_id: int, segments: list[Segment]) -> list[Segment]:
        return subtract(segments, self.holes(component_id))

    def monitored_combined(self, per_component: dict[int, list[Segment]]) -> list[Segment]:
        """The combined timeline of monitored time: a component before its start date does not exist;
        a gap is not monitored when any of the components has checks, and neither is a delay of any of
        them (the worst status of that minute cannot be decided: it is not a measurement)."""
        timeline = combine_segments(subtract(segs, self.holes_before_start(cid))
                                    for cid, segs in per_component.items())
        holes: list[Gap] = list(self.gaps) if self.checked & set(per_component) else []
        for cid in per_component:
            began = self.began(cid)
            holes += [(max(s, began), e) if began else (s, e) for s, e in self.delays.get(cid, [])]
        return subtract(timeline, merge_gaps(holes)) if holes else timeline


def answer(segments: list[Segment], start: dt.datetime, end: dt.datetime, now: dt.datetime,
           weights: Weights) -> Uptime:
    """An ``Uptime`` from monitored segments already clipped to the window."""
    return Uptime(start=start, end=end, as_of=max(start, min(end, now)), figures=figures_from_segments(segments),
                  weights=weights, first_monitored=segments[0][0] if segments else None)


def component_uptime(component_ids: Sequence[int], start: dt.datetime, end: dt.datetime, *,
                     now: dt.datetime | None = None, weights: Weights | None = None) -> UptimeReport:
    """THE uptime function: each component's and the combined uptime over [start, end), with coverage.

    Computed exactly from status intervals (a handful of rows per component per day) and monitoring
    gaps. Time after ``now`` is not monitored (yet); open intervals run until ``now``. ``combined`` is
    what an account using these components experienced (module docstring).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    now = now or utcnow()
    weights = weights or Weights.from_page()
    ids = list(dict.fromkeys(component_ids))
    segments = load_segments(ids, start, end, now)
    coverage = Coverage.load(ids, start, end, now)
    report = UptimeReport(start=start, end=end, weights=weights)
    for cid in ids:
        report.components[cid] = answer(coverage.monitored(cid, segments[cid]), start, end, now, weights)
    report.combined = answer(coverage.monitored_combined(segments), start, end, now, weights)
    return report


# --- daily rollups ----------------------------------------------------------------------------------


def split_by_day(segments: Iterable[Segment], tz: dt.tzinfo) -> dict[dt.date, UptimeFigures]:
    """Figures per local day of ``tz``."""
    out: dict[dt.date, UptimeFigures] = defaultdict(UptimeFigures)
    for s, e, status in segments:
        cur = s
        while cur < e:
            day = local_date(cur, tz)
            piece_end = min(e, day_bounds(day, tz)[1])
            out[day].add(status, (piece_end - cur).total_seconds())
            cur = piece_end
    return out


def _visible(figures: UptimeFigures | None, weights: Weights) -> tuple:
    if figures is None or figures.tracked_seconds <= 0:
        return (None, None)
    return (figures.worst_status, hundredths(figures.ratio(weights)))


def rollup_uptime(now: dt.datetime | None = None) -> int:
    """Recompute the daily rollups that may have changed; the worker calls this every minute. Commits.

    Days are local days of the page's zone; rows of another zone (the zone changed) are dropped.
    Recomputed: today; any day in the 90-day window without a row (from the component's first
    interval on); any day whose row was computed before the day ended (so a closed day is computed
    once more after midnight, then is final); and days touched by intervals that started or ended
    since the previous run. Bumps the site version when a public component's bar or percentage for a
    day changes. Returns the number of rows written.
    """
    now = now or utcnow()
    tz, zone = page_zone()
    today = local_date(now, tz)
    window_first = today - dt.timedelta(days=BAR_DAYS - 1)
    weights = Weights.from_page()
    components = db.session.execute(
        select(Component.id, Component.public).where(Component.archived_at.is_(None))).all()
    if not components:
        return 0
    public = {cid for cid, is_public in components if is_public}
    ids = [cid for cid, _ in components]
    db.session.execute(delete(ComponentUptimeDay).where(ComponentUptimeDay.time_zone != zone))

    existing: dict[tuple[int, dt.date], ComponentUptimeDay] = {
        (r.component_id, r.day): r for r in db.session.scalars(
            select(ComponentUptimeDay).where(ComponentUptimeDay.component_id.in_(ids),
                                             ComponentUptimeDay.day >= window_first))}
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
        day = max(window_first, local_date(first, tz))
        while day <= today:
            row = existing.get((cid, day))
            if row is None or day == today or row.computed_at < day_bounds(day, tz)[1]:
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
                if moment is not None and moment >= since and window_first <= local_date(moment, tz) <= today:
                    due[cid].add(local_date(moment, tz))
    if not due:
        db.session.commit()  # rows of another zone may have been dropped
        return 0

    first_day = min(d for days in due.values() for d in days)
    start, end = day_bounds(first_day, tz)[0], day_bounds(today, tz)[1]
    segments = load_segments(list(due), start, end, now)
    coverage = Coverage.load(list(due), start, end, now, tz)
    written = 0
    visible_change = False
    for cid, days in due.items():
        per_day = split_by_day(coverage.monitored(cid, segments[cid]), tz)
        for day in days:
            figures = per_day.get(day, UptimeFigures())
            row = existing.get((cid, day))
            before = _visible(UptimeFigures.from_rollup(row), weights) if row is not None else (None, None)
            if row is None:
                row = ComponentUptimeDay(component_id=cid, day=day)
                db.session.add(row)
            row.time_zone = zone
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


# --- the daily bars -----------------------------------------------------------------------------------


@dataclass(slots=True)
class DayBar:
    day: dt.date  # a local day of the page's zone
    figures: UptimeFigures | None  # None: before the component's start date
    weights: Weights
    length_seconds: float  # the day's length (23–25 h), or until now for today
    recent: str | None = None  # today only: the worst status since the figures' minute (a change just now)

    @property
    def status(self) -> str | None:
        """Worst status that day; None = no data (nothing monitored)."""
        base = None if self.figures is None or self.figures.tracked_seconds <= 0 else self.figures.worst_status
        if self.recent is not None and (base is None or STATUS_SEVERITY[self.recent] > STATUS_SEVERITY[base]):
            return self.recent
        return base

    @property
    def exact(self) -> Fraction | None:
        return None if self.status is None or self.figures is None else self.figures.exact_uptime(self.weights)

    @property
    def uptime(self) -> float | None:
        exact = self.exact
        return None if exact is None else float(exact)

    @property
    def text(self) -> str:
        return "—" if self.status is None or self.figures is None else self.figures.text(self.weights)

    @property
    def monitored_seconds(self) -> float:
        return 0.0 if self.figures is None else self.figures.tracked_seconds

    @property
    def partly_monitored(self) -> bool:
        """Some, not all, of the day (so far) was monitored."""
        return 0 < self.monitored_seconds < self.length_seconds - 1


@dataclass
class ComponentBars:
    """One component's last ``len(days)`` local days and their sum (``total``) up to now."""

    days: list[DayBar]
    starts: list[dt.datetime]  # UTC start of each day
    total: Uptime

    def last(self, days: int) -> Uptime:
        """The same figures over the last ``days`` of these bars (the 7- and 30-day windows)."""
        if days >= len(self.days):
            return self.total
        figures = UptimeFigures()
        for bar in self.days[-days:]:
            if bar.figures is not None:
                figures.merge(bar.figures)
        start = self.starts[len(self.days) - days]
        first = self.total.first_monitored
        return Uptime(start=start, end=self.total.end, as_of=self.total.as_of, figures=figures,
                      weights=self.total.weights,
                      first_monitored=max(first, start) if first and figures.tracked_seconds > 0 else None)


# Closed days' rollups are final until the rollup job rewrites them (which moves computed_at): a
# process keeps the last few windows it loaded and revalidates them with one aggregate query.
_ROLLUP_CACHE: dict[tuple, tuple[Any, dict[int, dict[dt.date, UptimeFigures]]]] = {}
_ROLLUP_CACHE_MAX = 8


def _final_rollups(ids: list[int], first: dt.date, today: dt.date, zone: str, tz: dt.tzinfo
                   ) -> dict[int, dict[dt.date, UptimeFigures]]:
    """Rollups of closed days computed after the day ended, in this zone: cid → day → figures (shared
    between renders: never mutate them)."""
    if not ids:
        return {}
    t = ComponentUptimeDay.__table__.c
    conn = db.session.connection()
    where = (t.component_id.in_(ids), t.day >= first, t.day < today, t.time_zone == zone)
    generation = conn.execute(select(func.max(t.computed_at), func.count()).where(*where)).one()
    key = (str(conn.engine.url), tuple(ids), first, today, zone)
    cached = _ROLLUP_CACHE.get(key)
    if cached is not None and cached[0] == tuple(generation):
        return cached[1]
    # Core rows on the session's connection, not ORM objects: 50 components × 90 days must load fast.
    stmt = (select(t.component_id, t.day, t.major_seconds, t.partial_seconds, t.degraded_seconds,
                   t.maintenance_seconds, t.tracked_seconds, t.worst_status, t.computed_at).where(*where))
    ends: dict[dt.date, dt.datetime] = {}
    rollups: dict[int, dict[dt.date, UptimeFigures]] = defaultdict(dict)
    for row in conn.execute(stmt):
        day = row[1]
        end = ends.get(day)
        if end is None:
            end = ends[day] = day_bounds(day, tz)[1]
        computed_at = row[8] if row[8].tzinfo else row[8].replace(tzinfo=dt.UTC)
        if computed_at >= end:
            _, _, major, partial, degraded, maint, tracked, worst, _ = row
            rollups[row[0]][day] = UptimeFigures(major, partial, degraded, maint, tracked,
                                                 worst if tracked > 0 else None)
    if len(_ROLLUP_CACHE) >= _ROLLUP_CACHE_MAX:
        _ROLLUP_CACHE.pop(next(iter(_ROLLUP_CACHE)))
    _ROLLUP_CACHE[key] = (tuple(generation), dict(rollups))
    return rollups


def uptime_bars(components: Sequence[Component], now: dt.datetime | None = None, *,
                days: int = BAR_DAYS, weights: Weights | None = None,
                latest: dt.datetime | None = None) -> dict[int, ComponentBars]:
    """The last ``days`` local days per component, and their total — the same figures as
    :func:`component_uptime` over [local midnight ``days − 1`` days ago, now).

    Final rollups serve closed days; any other day (today, a day without a final rollup, a day in a
    monitoring gap still going on) is computed from the intervals. Days before a component's
    ``start_date`` have no data. With ``latest`` (the real time, after ``now``: the figures' minute),
    today's bar also takes the colour of a status that began since ``now`` — an outage declared
    seconds ago shows at once, while every figure stays that of the minute.
    """
    now = now or uptime_clock()
    weights = weights or Weights.from_page()
    tz, zone = page_zone()
    today = local_date(now, tz)
    first = today - dt.timedelta(days=days - 1)
    day_list = [first + dt.timedelta(days=i) for i in range(days)]
    starts = [day_bounds(d, tz)[0] for d in day_list]
    win_start = starts[0]
    ids = [c.id for c in components]
    rollups = _final_rollups(ids, first, today, zone, tz)
    first_seen = dict(db.session.execute(
        select(ComponentStatusInterval.component_id, func.min(ComponentStatusInterval.started_at))
        .where(ComponentStatusInterval.component_id.in_(ids))
        .group_by(ComponentStatusInterval.component_id)).all()) if ids else {}
    coverage = Coverage.load(ids, win_start, now, now, tz)
    live_from_gap = local_date(coverage.ongoing[0], tz) if coverage.ongoing else None

    # Days computed from the intervals: today, days from a gap still going on, and closed days without
    # a final rollup (counted, not searched: usually every closed day has one).
    live_from: dict[int, dt.date] = {}
    for comp in components:
        seen = first_seen.get(comp.id)
        if seen is None:
            continue
        lo = max(first, local_date(seen, tz), comp.start_date or first)
        start_live = today
        if live_from_gap is not None and comp.id in coverage.checked:
            start_live = max(lo, min(today, live_from_gap))
        have = rollups.get(comp.id, {})
        if sum(1 for d in have if lo <= d < start_live) < (start_live - lo).days:
            start_live = next((d for d in day_list if lo <= d < start_live and d not in have), start_live)
        live_from[comp.id] = start_live
    live_days: dict[int, dict[dt.date, UptimeFigures]] = {}
    if live_from:
        earliest = min(live_from.values())
        segments = load_segments(list(live_from), day_bounds(earliest, tz)[0], now, now)
        for cid, segs in segments.items():
            live_days[cid] = split_by_day(coverage.monitored(cid, segs), tz)

    recent: dict[int, str] = {}
    if latest is not None and latest > now:
        for cid, segs in load_segments(ids, now, latest, latest).items():
            if (cid in coverage.checked and coverage.ongoing) or cid in coverage.delayed_now:
                continue  # monitoring is delayed: nothing recent was measured
            statuses = [status for _, _, status in coverage.monitored(cid, segs)]
            if statuses:
                recent[cid] = max(statuses, key=STATUS_SEVERITY.__getitem__)
    lengths = [((starts[i + 1] if i + 1 < len(starts) else now) - starts[i]).total_seconds()
               for i in range(len(starts))]
    empty = UptimeFigures()
    severity = STATUS_SEVERITY
    out: dict[int, ComponentBars] = {}
    for comp in components:
        cid, start_date = comp.id, comp.start_date
        from_day = live_from.get(cid, today + DAY)
        live, have = live_days.get(cid, {}), rollups.get(cid, {})
        bars: list[DayBar] = []
        major = partial = degraded = maint = tracked = 0.0
        worst: str | None = None
        for i, day in enumerate(day_list):
            if start_date is not None and day < start_date:
                bars.append(DayBar(day, None, weights, lengths[i]))
                continue
            figures = (live.get(day) if day >= from_day else have.get(day)) or empty
            if figures.tracked_seconds > 0:
                major += figures.major_seconds
                partial += figures.partial_seconds
                degraded += figures.degraded_seconds
                maint += figures.maintenance_seconds
                tracked += figures.tracked_seconds
                if worst is None or severity[figures.worst_status] > severity[worst]:  # type: ignore[index]
                    worst = figures.worst_status
            bars.append(DayBar(day, figures, weights, lengths[i], recent.get(cid) if day == today else None))
        total = UptimeFigures(major, partial, degraded, maint, tracked, worst)
        first_monitored = _first_monitored(first_seen.get(cid), win_start, coverage, cid, now)
        out[cid] = ComponentBars(bars, starts, Uptime(
            start=win_start, end=now, as_of=now, figures=total, weights=weights,
            first_monitored=first_monitored if tracked > 0 else None))
    return out


def _first_monitored(seen: dt.datetime | None, win_start: dt.datetime, coverage: Coverage, cid: int,
                     now: dt.datetime) -> dt.datetime | None:
    if seen is None:
        return None
    first = max(seen, win_start)
    for hs, he in coverage.holes(cid):
        if hs <= first < he:
            first = he
    return first if first < now else None
