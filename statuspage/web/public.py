"""The public trust page: overall status, components with 90-day uptime bars, incidents, history.

Views are thin: queries live in services.public_site and services.uptime; every view is wrapped by
public_cached (ETag/304, Cache-Control, per-process render cache keyed by the site version).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import defaultdict

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup, escape
from sqlalchemy import or_, select

from ..db import utcnow
from ..extensions import db
from ..models import Component, Incident, IncidentComponent
from ..models.constants import STATUS_LABELS
from ..services.monitoring.latency import latency_series, timed_check_ids
from ..services.page import get_page
from ..services.site import public as ps
from ..services.uptime import (
    BAR_DAYS,
    COVERAGE_TEXT,
    ROUNDING_TEXT,
    ComponentBars,
    Weights,
    day_bounds,
    format_duration,
    format_ratio,
    uptime_bars,
    uptime_clock,
    uptime_formula,
)
from ..templating import zone_label
from .charts import latency_context
from .public_cache import public_cached
from .query import ascii_int

bp = Blueprint("public", __name__)

BAR_CLASS = {None: "nd", "operational": "op", "degraded_performance": "dg", "partial_outage": "pa",
             "major_outage": "ma", "under_maintenance": "mn"}
HISTORY_MONTHS_PER_PAGE = 3
HISTORY_MAX_PAGES = 120


def _weights_text(weights: Weights, tz: dt.tzinfo) -> str:
    return (f"{uptime_formula(weights)} {COVERAGE_TEXT} Each bar is one day in {zone_label(tz)}; its colour is the "
            f"worst status that day, grey when nothing was monitored. {ROUNDING_TEXT}")


def _day_incident_names(components: list[Component], first_day: dt.date, now: dt.datetime, tz: dt.tzinfo
                        ) -> dict[tuple[int, dt.date], list[str]]:
    """(component id, local day) → names of published incidents affecting it that day.

    A lean column query (no ORM objects): this runs on every cache-miss render of the trust page.
    """
    start = day_bounds(first_day, tz)[0]
    out: dict[tuple[int, dt.date], list[str]] = defaultdict(list)
    ids = [c.id for c in components]
    if not ids:
        return out
    began_sql = ps.func_coalesce_began()
    rows = db.session.execute(
        select(Incident.name, began_sql.label("began"), Incident.resolved_at, IncidentComponent.component_id)
        .join(IncidentComponent, IncidentComponent.incident_id == Incident.id)
        .where(Incident.kind == "incident", Incident.published_at.is_not(None),
               or_(Incident.resolved_at.is_(None), Incident.resolved_at >= start), began_sql < now,
               IncidentComponent.component_id.in_(ids))).all()
    for name, began_raw, resolved_at, cid in rows:
        began = _as_utc(began_raw)
        began = max(began, start)
        ended = resolved_at or now
        day, last = began.astimezone(tz).date(), max(ended, began).astimezone(tz).date()
        while day <= last:
            out[(cid, day)].append(name)
            day += dt.timedelta(days=1)
    return out


def _as_utc(value) -> dt.datetime:
    # A CASE expression loses the column type: SQLite hands back text, PostgreSQL a naive datetime.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def day_labels(comp: Component, bars: ComponentBars, names: dict[tuple[int, dt.date], list[str]]
               ) -> list[tuple[str, str, str]]:
    """Per day of the bars, oldest first: (bar class, date, what the day was: status, uptime, whether it
    was monitored — a day without monitored time is grey and says "no data" — and its incidents)."""
    out = []
    weights = bars.total.weights
    cid = comp.id
    for bar in bars.days:
        date_text = _date_text(bar.day)
        figures = bar.figures
        status = bar.status
        if status is None or figures is None:
            text = "no data (not monitored)"
        else:
            incidents = names.get((cid, bar.day))
            inc_text = "; incidents: " + "; ".join(dict.fromkeys(incidents)) if incidents else ""
            tracked = figures.tracked_seconds
            part = (f" (monitored {format_duration(tracked)} of the day)" if tracked < bar.length_seconds - 1
                    else "")
            text = f"{_STATUS_WORD[status]}, {format_ratio(figures.ratio(weights))} uptime{part}{inc_text}"
        out.append((BAR_CLASS[status], date_text, text))
    return out


def bars_html(comp: Component, bars: ComponentBars, names: dict[tuple[int, dt.date], list[str]], *,
              labelled: bool = False) -> Markup:
    """One element per day; its ``data-label`` (the hover tooltip) says date, status, uptime, coverage,
    incidents.

    The days are not tab stops: on the trust page the whole strip is one link to the component's
    day-by-day table, so a keyboard user passes a component's bars with one Tab. ``labelled`` (where
    the strip is not a link): each day is also an image with that label, for screen readers' browse mode.
    Built as a string, not in Jinja: 50 components × 90 days must render in a few milliseconds.
    """
    parts = []
    for css, date_text, text in day_labels(comp, bars, names):
        label = escape(f"{date_text}: {text}")
        aria = f' role="img" aria-label="{label}"' if labelled else ""
        parts.append(f'<span class="bar b-{css}" data-label="{label}"{aria}></span>')
    return Markup("".join(parts))


_STATUS_WORD = {k: ("operational" if k == "operational" else v) for k, v in STATUS_LABELS.items()}


@functools.lru_cache(maxsize=1024)
def _date_text(day: dt.date) -> str:
    return f"{day.strftime('%b')} {day.day}, {day.year}"


WINDOW = f"the past {BAR_DAYS} days"


def component_rows(components: list[Component], now: dt.datetime, weights: Weights, tz: dt.tzinfo, *,
                   labelled: bool = False) -> dict[int, dict]:
    """Per component: its bars (HTML), its uptime over the bars' window and what that figure covers.

    The trust page and the private account view both render these, from the one uptime computation.
    """
    latest = utcnow()  # today's bar shows a change of the last seconds; the figures stay those of `now`
    bars = uptime_bars(components, now, weights=weights, latest=latest)
    first_day = bars[components[0].id].days[0].day if components else now.date()
    names = _day_incident_names(components, first_day, max(now, latest), tz)
    return {c.id: {"bars": bars_html(c, bars[c.id], names, labelled=labelled), "uptime": bars[c.id].total.text,
                   "span": bars[c.id].total.span(WINDOW), "sentence": bars[c.id].total.sentence(WINDOW),
                   "full": bars[c.id].total.fully_covered} for c in components}


def _past_days(now: dt.datetime, tz: dt.tzinfo, days: int = 14) -> list[tuple[dt.date, list[Incident]]]:
    """The last ``days`` local days, newest first, each with the incidents that began on it."""
    today = now.astimezone(tz).date()
    first = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.UTC)
    by_day: dict[dt.date, list[Incident]] = defaultdict(list)
    for inc in ps.incidents_between(start, now + dt.timedelta(days=1)):
        if inc.kind == "maintenance" and inc.status not in ("completed",):
            continue  # upcoming and active maintenance have their own sections
        by_day[ps.incident_time(inc).astimezone(tz).date()].append(inc)
    return [(today - dt.timedelta(days=i), by_day.get(today - dt.timedelta(days=i), [])) for i in range(days)]


@bp.get("/")
@public_cached(time_sensitive=True)
def index():
    page = get_page()
    now = uptime_clock()
    weights = Weights.from_page()
    tz = page.tz
    components = ps.visible_components(ps.public_components())
    unresolved = ps.unresolved_incidents()
    active = ps.active_maintenance()
    delayed_ids = ps.delayed_component_ids()
    overall = ps.overall_status(components, unresolved, active, delayed_ids)
    groups = ps.grouped(components)
    shown = ps.shown_statuses(components, delayed_ids)
    return render_template(
        "public/index.html", page=page, overall=overall, groups=groups, shown=shown,
        group_status={g.id: ps.shown_group_status(comps, shown) for g, comps in groups if g is not None},
        rows=component_rows(components, now, weights, tz), unresolved=unresolved, active=active,
        upcoming=ps.upcoming_maintenance(), past_days=_past_days(now, tz), today=now.astimezone(tz).date(),
        formula=_weights_text(weights, tz), latest_update=ps.latest_public_update, bar_days=BAR_DAYS,
        impact_labels=ps.IMPACT_LABELS, as_of=now)


def _month_start(year: int, month: int, tz: dt.tzinfo) -> dt.datetime:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.datetime(year, month, 1, tzinfo=tz)


@bp.get("/history")
@public_cached(params=("page",))
def history():
    page = get_page()
    tz = page.tz
    number = ascii_int(request.args.get("page", "1"))
    if number is None or not 1 <= number <= HISTORY_MAX_PAGES:
        abort(404)
    now_local = utcnow().astimezone(tz)
    months = []
    for i in range((number - 1) * HISTORY_MONTHS_PER_PAGE, number * HISTORY_MONTHS_PER_PAGE):
        start = _month_start(now_local.year, now_local.month - i, tz)
        end = _month_start(start.year, start.month + 1, tz)
        incidents = ps.incidents_between(start.astimezone(dt.UTC), end.astimezone(dt.UTC))
        months.append((start, incidents))
    oldest = ps.incidents_between(dt.datetime(1970, 1, 2, tzinfo=dt.UTC), months[-1][0].astimezone(dt.UTC))
    return render_template("public/history.html", page=page, months=months, number=number,
                           has_older=bool(oldest) and number < HISTORY_MAX_PAGES,
                           impact_labels=ps.IMPACT_LABELS)


@bp.get("/incidents/<public_id>")
@public_cached()
def incident(public_id: str):
    page = get_page()
    inc = ps.get_public_incident(public_id)
    if inc is None:
        abort(404)
    return render_template("public/incident.html", page=page, incident=inc, updates=ps.public_updates(inc),
                           components=ps.affected_public_components(inc),
                           postmortem=ps.public_postmortem_sections(inc),
                           postmortem_published_at=inc.postmortem.published_at if inc.postmortem else None,
                           impact_labels=ps.IMPACT_LABELS, duration=_duration(inc))


def _duration(inc: Incident) -> str | None:
    began = ps.incident_time(inc)
    ended = inc.resolved_at if inc.kind == "incident" else inc.scheduled_until
    if began is None or ended is None or ended < began:
        return None
    minutes = math.ceil((ended - began).total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p) or "under a minute"


@bp.get("/components/<slug>")
@public_cached(time_sensitive=True)
def component(slug: str):
    page = get_page()
    comp = ps.get_public_component(slug)
    if comp is None:
        abort(404)
    now = uptime_clock()
    weights = Weights.from_page()
    tz = page.tz
    latest = utcnow()
    bars = uptime_bars([comp], now, weights=weights, latest=latest)[comp.id]
    names = _day_incident_names([comp], bars.days[0].day, max(now, latest), tz)
    windows = []
    for days in (7, 30, BAR_DAYS):
        figure = bars.last(days)
        windows.append((days, figure.text, figure.span(f"the past {days} days")))
    incidents = ps.incidents_between(bars.total.start, now + dt.timedelta(days=1), component_id=comp.id)
    timed = timed_check_ids(comp.id)  # nothing measures a component without such checks: no chart
    charts = latency_context(latency_series(timed, now), key=comp.slug, tz_name=page.time_zone,
                             subject=comp.name) if timed else None
    return render_template("public/component.html", page=page, component=comp, charts=charts,
                           shown=ps.shown_status(comp, ps.delayed_component_ids()),
                           bars=bars_html(comp, bars, names), days=list(reversed(day_labels(comp, bars, names))),
                           uptime=bars.total.text, sentence=bars.total.sentence(WINDOW), windows=windows,
                           incidents=incidents, formula=_weights_text(weights, tz), bar_days=BAR_DAYS,
                           impact_labels=ps.IMPACT_LABELS, as_of=now)
