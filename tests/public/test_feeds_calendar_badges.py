"""RSS/Atom feeds (feedparser, no bozo), the maintenance calendar and SVG badges."""

import datetime as dt
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import feedparser
import pytest
from icalendar import Calendar


@pytest.mark.parametrize("path", ["/history.rss", "/history.atom"])
def test_history_feeds_parse_cleanly_newest_first_with_stable_ids(site, client, path):
    body = client.get(path).get_data()
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.get("bozo_exception")
    titles = [e.title for e in feed.entries]
    assert [t for t in titles if not t.startswith("Maintenance: ")] == ["API errors", "Login failures"]
    # Maintenance is in the feed like on the page; a cancelled window is not.
    assert {t for t in titles if t.startswith("Maintenance: ")} == {"Maintenance: Database upgrade",
                                                                     "Maintenance: Network maintenance"}
    first = feed.entries[titles.index("API errors")]
    assert first.id == f"http://status.test/incidents/{site.open.public_id}"
    assert first.link == f"http://status.test/incidents/{site.open.public_id}"
    content = first.content[0].value if "content" in first else first.summary
    assert "Identified a bad deploy" in content and "We are investigating errors." in content
    assert "10.0.0.5" not in body.decode()
    assert "Draft: something odd" not in body.decode()
    assert client.get(path).get_data() == body  # stable bytes for an unchanged site


def test_the_rss_channel_link_is_the_page_not_the_feed(site, client):
    feed = feedparser.parse(client.get("/history.rss").get_data())
    assert feed.feed.link == "http://status.test/history"


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_component_feeds_hold_only_that_components_incidents(site, client, kind):
    feed = feedparser.parse(client.get(f"/components/web/history.{kind}").get_data())
    assert not feed.bozo
    assert [e.title for e in feed.entries] == ["Maintenance: Database upgrade", "Login failures"]
    assert client.get(f"/components/backups/history.{kind}").status_code == 404


def test_the_maintenance_calendar_lists_windows_with_stable_uids(site, client):
    resp = client.get("/maintenance.ics")
    assert resp.mimetype == "text/calendar"
    cal = Calendar.from_ical(resp.get_data())
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"Database upgrade", "Network maintenance", "Cancelled window"}
    up = events["Database upgrade"]
    assert str(up["uid"]) == f"maintenance-{site.upcoming.public_id}@status.test"
    assert up.decoded("dtstart") == site.upcoming.scheduled_for.replace(microsecond=0)
    assert str(events["Cancelled window"]["status"]) == "CANCELLED"
    assert "We will upgrade the database." in str(up["description"])


def test_the_status_badge_is_an_accessible_svg(site, client):
    resp = client.get("/badge/api.svg")
    assert resp.mimetype == "image/svg+xml"
    svg = ET.fromstring(resp.get_data())
    assert svg.get("role") == "img" and svg.get("aria-label") == "Public API: partial outage"
    assert svg.find("{http://www.w3.org/2000/svg}title").text == "Public API: partial outage"


def test_the_uptime_badge_shows_the_percentage_and_what_it_covers(site, client):
    svg = ET.fromstring(client.get("/badge/cdn/uptime.svg").get_data())
    # CDN is monitored since 30 days ago: the badge does not claim 90 days.
    assert svg.get("aria-label") == "CDN: 100.00% uptime over the 30 days since monitoring began"
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    began = (site.now - dt.timedelta(days=30)).astimezone(ZoneInfo("Europe/Berlin"))
    assert texts == [f"CDN uptime since {began:%b} {began.day}", "100.00%"]
    assert client.get("/badge/backups/uptime.svg").status_code == 404
