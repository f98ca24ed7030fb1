"""Feeds (RSS, Atom), the maintenance calendar (iCalendar) and SVG status/uptime badges.

One feed entry per published incident or (not cancelled) scheduled maintenance, newest first, its
public update trail as content. Entry ids are the incident's canonical URL (stable across edits and
re-exports); Atom's ``updated`` and RSS's ``pubDate`` are the newest public update (RSS has no
separate "updated", and readers sort and flag changed items by ``pubDate``), so a feed's bytes (and
ETag) change only when an incident does.

Every stored string goes through ``text.xml_safe`` on its way in: services refuse control characters,
but a row written before that rule (or behind its back) must never turn a feed, the calendar or the
static export into a 500.
"""

from __future__ import annotations

import datetime as dt
import html

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, abort
from icalendar import Calendar, Event
from markupsafe import escape

from ..models import Incident
from ..models.constants import MONITORING_DELAYED
from ..services.page import get_page
from ..services.site import public as ps
from ..services.uptime import BAR_DAYS, Weights, uptime_bars, uptime_clock
from ..templating import local_time, render_markdown
from ..text import xml_safe
from .api_v2 import public_base_url
from .public_cache import public_cached

bp = Blueprint("feeds", __name__)
FEED_LIMIT = 50
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _entry_html(inc: Incident, tz: str) -> str:
    parts = []
    if inc.kind == "maintenance" and inc.scheduled_for is not None:
        until = f" – {escape(local_time(inc.scheduled_until, tz))}" if inc.scheduled_until else ""
        parts.append(f"<p><strong>Scheduled maintenance</strong>: {escape(local_time(inc.scheduled_for, tz))}"
                     f"{until}</p>")
    for u in ps.public_updates(inc):
        parts.append(f"<p><strong>{escape(u.status.replace('_', ' ').capitalize())}</strong> — "
                     f"{escape(local_time(u.display_at, tz))}</p>{render_markdown(u.body)}")
    comps = ps.affected_public_components(inc)
    if comps:
        parts.append("<p>Affected components: " + ", ".join(str(escape(c.name)) for c in comps) + "</p>")
    return xml_safe("".join(parts)) or "<p>No public updates.</p>"


def _updated(inc: Incident) -> dt.datetime:
    updates = ps.public_updates(inc)
    return max([u.display_at for u in updates] + [inc.published_at or inc.created_at])


def _feed(incidents: list[Incident], title: str, self_path: str, alt_path: str, kind: str) -> Response:
    page = get_page()
    base = public_base_url()
    fg = FeedGenerator()
    fg.id(f"{base}{alt_path}")
    fg.title(xml_safe(title))
    fg.description(xml_safe(f"Incident history of {page.name}"))
    fg.subtitle(xml_safe(f"Incident history of {page.name}"))
    fg.language("en")
    # The RSS channel <link> is the last one added: self first, the page last (docs/pitfalls.md: feedgen).
    fg.link(href=f"{base}{self_path}", rel="self")
    fg.link(href=f"{base}{alt_path}", rel="alternate")
    newest = max((_updated(i) for i in incidents), default=page.updated_at or EPOCH)
    fg.updated(newest)
    fg.lastBuildDate(newest)
    for inc in incidents:  # newest first; append keeps that order (add_entry prepends by default)
        url = f"{base}/incidents/{inc.public_id}"
        entry = fg.add_entry(order="append")
        entry.id(url)
        entry.guid(url, permalink=True)
        entry.title(xml_safe(f"Maintenance: {inc.name}" if inc.kind == "maintenance" else inc.name))
        entry.link(href=url)
        # RSS's only date is pubDate (from `published`): the newest update, as Statuspage's feeds do.
        entry.published(_updated(inc) if kind == "rss" else inc.published_at or inc.created_at)
        entry.updated(_updated(inc))
        entry.content(_entry_html(inc, page.time_zone), type="html")
    if kind == "rss":
        return Response(fg.rss_str(pretty=False), mimetype="application/rss+xml")
    return Response(fg.atom_str(pretty=False), mimetype="application/atom+xml")


def _history(kind: str) -> Response:
    page = get_page()
    incidents = ps.recent_incidents(None, FEED_LIMIT)
    return _feed(incidents, f"{page.name} status history", f"/history.{kind}", "/history", kind)


@bp.get("/history.rss")
@public_cached()
def history_rss():
    return _history("rss")


@bp.get("/history.atom")
@public_cached()
def history_atom():
    return _history("atom")


def _component_feed(slug: str, kind: str) -> Response:
    comp = ps.get_public_component(slug)
    if comp is None:
        abort(404)
    page = get_page()
    incidents = [i for i in ps.recent_incidents(None, 500)
                 if any(ic.component_id == comp.id for ic in i.components)][:FEED_LIMIT]
    return _feed(incidents, f"{comp.name} · {page.name} status history",
                 f"/components/{comp.slug}/history.{kind}", f"/components/{comp.slug}", kind)


@bp.get("/components/<slug>/history.rss")
@public_cached()
def component_rss(slug: str):
    return _component_feed(slug, "rss")


@bp.get("/components/<slug>/history.atom")
@public_cached()
def component_atom(slug: str):
    return _component_feed(slug, "atom")


@bp.get("/maintenance.ics")
@public_cached()
def maintenance_ics():
    """Scheduled maintenance as an iCalendar feed; cancelled windows stay with STATUS:CANCELLED."""
    page = get_page()
    base = public_base_url()
    host = base.split("://", 1)[-1].split("/", 1)[0] or "statuspage"
    cal = Calendar()
    cal.add("prodid", "-//statuspage//maintenance//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", xml_safe(f"{page.name} maintenance"))
    for m in ps.calendar_maintenance():
        ev = Event()
        ev.add("uid", f"maintenance-{m.public_id}@{host}")
        ev.add("summary", xml_safe(m.name))
        ev.add("dtstart", m.scheduled_for)
        ev.add("dtend", m.scheduled_until or m.scheduled_for + dt.timedelta(hours=1))
        ev.add("dtstamp", m.updated_at or m.created_at)
        ev.add("url", f"{base}/incidents/{m.public_id}")
        latest = ps.latest_public_update(m)
        comps = ", ".join(c.name for c in ps.affected_public_components(m))
        description = (latest.body if latest else "") + (f"\n\nAffected: {comps}" if comps else "")
        ev.add("description", xml_safe(description.strip()))
        ev.add("status", "CANCELLED" if m.status == "cancelled" else "CONFIRMED")
        cal.add_component(ev)
    return Response(cal.to_ical(), mimetype="text/calendar")


# --- badges ---------------------------------------------------------------------------------------

BADGE_COLORS = {"operational": "#1a7f37", "degraded_performance": "#9a6700", "partial_outage": "#bc4c00",
                "major_outage": "#cf222e", "under_maintenance": "#0969da", None: "#57606a"}
STATUS_WORDS = {"operational": "operational", "degraded_performance": "degraded", "partial_outage":
                "partial outage", "major_outage": "major outage", "under_maintenance": "maintenance"}


def _text_width(text: str) -> int:
    # Verdana 11px averages ~6.5px per character; wide letters a bit more. Good enough for a badge.
    return int(sum(7.5 if ch in "mwMW%" else 4 if ch in "il.,:;| " else 6.6 for ch in text)) + 10


def badge_svg(label: str, value: str, color: str, title: str | None = None) -> str:
    """A flat shields-style badge with a <title> and an accessible name (``title`` when given)."""
    lw, vw = _text_width(label), _text_width(value)
    total = lw + vw
    name = html.escape(title or f"{label}: {value}")
    label_e, value_e = html.escape(label), html.escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{name}">'
        f"<title>{name}</title>"
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{vw}" height="20" fill="{color}"/></g>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{lw / 2:.1f}" y="14">{label_e}</text>'
        f'<text x="{lw + vw / 2:.1f}" y="14">{value_e}</text></g></svg>')


def _svg(body: str) -> Response:
    return Response(body, mimetype="image/svg+xml")


@bp.get("/badge/<slug>.svg")
@public_cached(cors=True)
def badge_status(slug: str):
    comp = ps.get_public_component(slug)
    if comp is None:
        abort(404)
    shown = ps.shown_status(comp, ps.delayed_component_ids())
    if shown == MONITORING_DELAYED:  # never a stale green: grey, and says why
        return _svg(badge_svg(xml_safe(comp.name), "monitoring delayed", BADGE_COLORS[None]))
    return _svg(badge_svg(xml_safe(comp.name), STATUS_WORDS.get(comp.status, comp.status), BADGE_COLORS[comp.status]))


@bp.get("/badge/<slug>/uptime.svg")
@public_cached(time_sensitive=True, cors=True)
def badge_uptime(slug: str):
    comp = ps.get_public_component(slug)
    if comp is None:
        abort(404)
    weights = Weights.from_page()
    total = uptime_bars([comp], uptime_clock(), weights=weights)[comp.id].total
    up = total.fraction
    if up is None:
        color = BADGE_COLORS[None]
    elif up >= 0.999:
        color = BADGE_COLORS["operational"]
    elif up >= 0.99:
        color = BADGE_COLORS["degraded_performance"]
    else:
        color = BADGE_COLORS["major_outage"]
    # The same figure as the trust page; the label says what it covers when that is not all 90 days.
    if total.fully_covered or total.first_monitored is None:
        span = f"{BAR_DAYS}d"
    else:
        local = total.first_monitored.astimezone(get_page().tz)
        span = f"since {local.strftime('%b')} {local.day}"
    return _svg(badge_svg(xml_safe(f"{comp.name} uptime {span}"), total.text, color,
                          title=xml_safe(f"{comp.name}: {total.sentence(f'the past {BAR_DAYS} days')}")))
