"""Server-rendered response-time charts: inline SVG that needs no JavaScript and reads to a screen reader.

Each chart is an ``<svg role="img">`` whose ``<title>`` names it and whose ``<desc>`` says what a sighted
reader takes from it (the window's median and 95th percentile, the slowest bucket, how much has data);
the numbers themselves are in a table under the chart (``latency_table``). Colours come from CSS
classes, so light and dark mode follow the page.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo

from markupsafe import Markup, escape

from ..services.monitoring.latency import LatencyPoint, LatencySeries

PLOT_W, PLOT_H = 1000, 100  # the plot's own coordinates, stretched to its box


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 10_000 else f"{value:,.0f} ms"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (a round top for the y axis)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        top = step * 10 ** exponent
        if top >= value:
            return float(top)
    return float(10 ** (exponent + 1))  # pragma: no cover


def _zone(tz_name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def bucket_label(point: LatencyPoint, step: dt.timedelta, tz_name: str) -> str:
    """A bucket's start in the page's zone: ``Nov 30, 14:00`` for hours, ``Nov 30`` for days."""
    local = point.start.astimezone(_zone(tz_name))
    day = f"{local.strftime('%b')} {local.day}"
    return f"{day}, {local.strftime('%H:%M')}" if step < dt.timedelta(days=1) else day


def _segments(values: list[float | None]) -> list[list[tuple[int, float]]]:
    runs: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((i, value))
    if current:
        runs.append(current)
    return runs


def describe(series: LatencySeries, tz_name: str, subject: str) -> str:
    """What the chart shows, in one or two sentences (the SVG's ``<desc>``)."""
    unit = "hour" if series.step < dt.timedelta(days=1) else "day"
    if not series.has_data:
        return f"No response times were measured for {subject} in the {series.label.lower()}."
    with_data = sum(1 for p in series.points if p.runs and p.p50_ms is not None)
    slowest = series.slowest
    text = (f"{subject}, {series.label.lower()}: median response time {_ms(series.p50_ms)}, 95th percentile "
            f"{_ms(series.p95_ms)}.")
    if slowest is not None:
        text += (f" The slowest {unit} was {bucket_label(slowest, series.step, tz_name)} "
                 f"({_ms(slowest.p95_ms)} at the 95th percentile).")
    if with_data < len(series.points):
        text += f" {with_data} of {len(series.points)} {unit}s have measurements."
    return text


def latency_svg(series: LatencySeries, *, chart_id: str, tz_name: str, subject: str) -> Markup:
    """One chart: the p95 band and line and the p50 line over a y axis in ms, gaps where no data.

    The plot is an SVG stretched to its box (lines keep their width: non-scaling strokes); the axis
    labels are HTML around it, so they stay readable from a phone to a wide screen.
    """
    title = f"Response time of {subject}, {series.label.lower()}"
    desc = describe(series, tz_name, subject)
    svg_head = (f'<svg class="latency-chart" viewBox="0 0 {PLOT_W} {PLOT_H}" preserveAspectRatio="none" '
                f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" focusable="false" '
                f'xmlns="http://www.w3.org/2000/svg"><title id="{chart_id}-t">{escape(title)}</title>'
                f'<desc id="{chart_id}-d">{escape(desc)}</desc>')
    if not series.has_data:
        return Markup(f'<div class="lat-plot lat-plot-empty">{svg_head}'
                      f'<rect class="lat-frame" x="0" y="0" width="{PLOT_W}" height="{PLOT_H}"/></svg>'
                      f'<span class="lat-empty" aria-hidden="true">No data yet</span></div>')
    points = list(series.points)
    top = nice_ceiling(max((p.p95_ms or p.p50_ms or 0) for p in points) * 1.05)
    n = len(points)

    def x(i: float) -> float:
        return PLOT_W * (i + 0.5) / n

    def y(value: float) -> float:
        return PLOT_H - (PLOT_H - 2) * min(value, top) / top

    parts = [svg_head]
    for frac in (0.5, 1.0):
        gy = y(top * frac)
        parts.append(f'<line class="lat-grid" x1="0" x2="{PLOT_W}" y1="{gy:.1f}" y2="{gy:.1f}"/>')
    parts.append(f'<line class="lat-base" x1="0" x2="{PLOT_W}" y1="{PLOT_H}" y2="{PLOT_H}"/>')

    def path(seg: list[tuple[int, float]]) -> str:
        if len(seg) == 1:  # a lone measurement: a short dash one bucket wide
            i, v = seg[0]
            return f"{x(i - 0.5):.1f},{y(v):.1f} {x(i + 0.5):.1f},{y(v):.1f}"
        return " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in seg)

    for seg in _segments([p.p95_ms for p in points]):
        line = path(seg)
        left, right = line.split(" ", 1)[0].split(",")[0], line.rsplit(" ", 1)[-1].split(",")[0]
        parts.append(f'<polygon class="lat-band" points="{left},{PLOT_H} {line} {right},{PLOT_H}"/>'
                     f'<polyline class="lat-p95" points="{line}"/>')
    for seg in _segments([p.p50_ms for p in points]):
        parts.append(f'<polyline class="lat-p50" points="{path(seg)}"/>')
    parts.append("</svg>")
    labels = (f'<span class="lat-y" style="top:0">{escape(_ms(top))}</span>'
              f'<span class="lat-y" style="top:50%">{escape(_ms(top / 2))}</span>')
    return Markup(f'<div class="lat-plot">{"".join(parts)}<div class="lat-ylabels" aria-hidden="true">{labels}</div>'
                  f'</div><div class="lat-x" aria-hidden="true"><span>{escape(bucket_label(points[0], series.step, tz_name))}'
                  f'</span><span>now</span></div>')


def latency_rows(series: LatencySeries, tz_name: str) -> list[tuple[str, int, str, str]]:
    """The table under a chart: (bucket, runs, p50, p95); a week is shown by day, 90 days by week."""
    step = series.step
    points: list[LatencyPoint] = list(series.points)
    if series.window == "7d":
        points, step = series.coarser(dt.timedelta(days=1)), dt.timedelta(days=1)
    elif series.window == "90d":
        points, step = series.coarser(dt.timedelta(days=7)), dt.timedelta(days=7)
    label = "week of " if step == dt.timedelta(days=7) else ""
    return [(label + bucket_label(p, step, tz_name), p.runs, _ms(p.p50_ms), _ms(p.p95_ms)) for p in points]


def latency_context(series_list: list[LatencySeries], *, key: str, tz_name: str, subject: str) -> list[dict]:
    """What the chart template needs per window: the SVG, the headline figures, the table rows."""
    return [{"window": s.window, "label": s.label, "has_data": s.has_data, "p50": _ms(s.p50_ms),
             "p95": _ms(s.p95_ms), "id": f"lat-{key}-{s.window}",
             "svg": latency_svg(s, chart_id=f"lat-{key}-{s.window}", tz_name=tz_name, subject=subject),
             "rows": latency_rows(s, tz_name)} for s in series_list]
