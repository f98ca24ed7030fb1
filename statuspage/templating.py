"""Jinja helpers: statuses, times in the page's time zone, sanitized markdown."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

import markdown as md
import nh3
from flask import Flask
from markupsafe import Markup

from checks.durations import format_duration

from .models.constants import SHOWN_STATUS_LABELS, STATUS_LABELS

ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "code", "pre", "ul", "ol", "li", "a", "blockquote",
                "h3", "h4", "h5", "hr", "table", "thead", "tbody", "tr", "th", "td", "del"}


def render_markdown(text: str | None) -> Markup:
    """Markdown to HTML, then sanitized: no script, no handlers, links get rel=noopener nofollow."""
    return Markup(_render_markdown(text or ""))


@functools.lru_cache(maxsize=4096)
def _render_markdown(text: str) -> str:
    # Pure function of the text; incident pages re-render the same bodies on every cache miss.
    html = md.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"], output_format="html")
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                      url_schemes={"http", "https", "mailto"}, link_rel="noopener nofollow ugc")
    return clean


def _zone(tz: dt.tzinfo | str | None) -> dt.tzinfo:
    if isinstance(tz, dt.tzinfo):
        return tz
    try:
        return zoneinfo.ZoneInfo(tz or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def zone_abbreviation(local: dt.datetime) -> str:
    """'CET', 'CEST', 'UTC' — or 'UTC+05:30' where the zone has no lettered abbreviation."""
    name = local.tzname() or ""
    if name.isalpha():
        return name
    offset = local.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset not in ("+0000", "") else "UTC"


def zone_label(tz: dt.tzinfo | str | None, year: int | None = None) -> str:
    """The zone as people read it: 'Europe/Berlin (CET/CEST)', 'UTC'."""
    zone = _zone(tz)
    key = getattr(zone, "key", "UTC")
    year = year or dt.date.today().year
    names = list(dict.fromkeys(zone_abbreviation(dt.datetime(year, m, 1, 12, tzinfo=zone)) for m in (1, 7)))
    abbreviations = "/".join(names)
    return key if abbreviations == key else f"{key} ({abbreviations})"


def local_time(value: dt.datetime | str | None, tz_name: dt.tzinfo | str | None = "UTC",
               fmt: str = "%b %d, %Y %H:%M") -> str:
    """A UTC datetime (or ISO 8601 text) in the page's zone with the zone's abbreviation at that instant,
    e.g. 'Mar 03, 2026 14:05 CET' — the one way every time a person reads is written."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(_zone(tz_name))
    return f"{local.strftime(fmt)} {zone_abbreviation(local)}"


def format_money(value, currency: str) -> str:
    """An amount as the console and mail show ARR: ``EUR 120,000`` (whole units, thousands separated)."""
    return f"{currency} {float(value or 0):,.0f}"


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["status_label"] = lambda s: SHOWN_STATUS_LABELS.get(s, str(s).replace("_", " ").title())
    app.jinja_env.filters["humanize"] = lambda s: str(s or "").replace("_", " ").capitalize()
    app.jinja_env.filters["local_time"] = local_time
    # Seconds as the config file writes them: 30s, 5m, 24h, 1h30m.
    app.jinja_env.filters["duration"] = lambda seconds: format_duration(float(seconds or 0), max_units=2)
    app.jinja_env.filters["zone_label"] = zone_label
    app.jinja_env.globals["STATUS_LABELS"] = STATUS_LABELS
