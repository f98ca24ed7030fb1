"""RSS and Atom carry scheduled maintenance like the page does; an RSS item's date moves with its updates."""

import datetime as dt
from email.utils import parsedate_to_datetime

import feedparser

from statuspage.db import utcnow
from tests.support import factories as f


def test_maintenance_is_in_both_feeds(app, client):
    api = f.component("Public API", "api")
    now = utcnow()
    m = f.maintenance("Database upgrade", start=now + dt.timedelta(days=1), end=now + dt.timedelta(days=1, hours=2),
                      components={api: 1})
    f.update(m, "We will upgrade the primary database.", status="scheduled", at=now)
    for path in ("/history.rss", "/history.atom", "/components/api/history.rss"):
        feed = feedparser.parse(client.get(path).data)
        titles = [e.title for e in feed.entries]
        assert "Maintenance: Database upgrade" in titles, path
        entry = feed.entries[titles.index("Maintenance: Database upgrade")]
        assert entry.link.endswith(f"/incidents/{m.public_id}")
        assert "Scheduled maintenance" in entry.summary and "upgrade the primary database" in entry.summary


def test_an_rss_items_date_is_its_latest_update(app, client):
    api = f.component("Public API", "api")
    start = utcnow().replace(microsecond=0) - dt.timedelta(hours=3)
    inc = f.incident("Elevated API errors", components={api: "major_outage"}, started_at=start)
    f.update(inc, "Investigating.", status="investigating", at=start)
    later = start + dt.timedelta(hours=2)
    f.update(inc, "Resolved.", status="resolved", at=later)
    feed = feedparser.parse(client.get("/history.rss").data)
    (item,) = [e for e in feed.entries if e.title == "Elevated API errors"]
    assert parsedate_to_datetime(item.published) == later
    atom = feedparser.parse(client.get("/history.atom").data)
    (entry,) = [e for e in atom.entries if e.title == "Elevated API errors"]
    assert dt.datetime.fromisoformat(entry.updated) == later
