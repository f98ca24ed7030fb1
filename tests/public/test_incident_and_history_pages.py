"""/incidents/<id>, /history and /components/<slug>."""

import datetime as dt

from statuspage.extensions import db
from tests.support import factories as f


def test_the_incident_page_shows_the_public_timeline_newest_first(site, client):
    page = client.get(f"/incidents/{site.open.public_id}").get_data(as_text=True)
    assert page.index("Identified a bad deploy") < page.index("We are investigating errors.")
    assert "10.0.0.5" not in page
    assert "Public API" in page and "Backups" not in page  # affected public components only


def test_the_incident_page_shows_only_public_postmortem_sections(site, client):
    page = client.get(f"/incidents/{site.old.public_id}").get_data(as_text=True)
    assert "Postmortem" in page and "<strong>certificate</strong>" in page
    assert "Pager went to the wrong team" not in page
    assert "Lasted 2 h" in page


def test_an_unpublished_postmortem_stays_hidden(app, client):
    inc = f.incident("Outage", status="resolved")
    f.postmortem(inc, [{"key": "summary", "title": "Summary", "body": "secret draft", "public": True}],
                 published=False)
    db.session.commit()
    assert "secret draft" not in client.get(f"/incidents/{inc.public_id}").get_data(as_text=True)


def test_drafts_and_unknown_incidents_are_not_found(site, client):
    assert client.get(f"/incidents/{site.draft.public_id}").status_code == 404
    assert client.get("/incidents/nope").status_code == 404


def test_maintenance_has_an_incident_page_too(site, client):
    page = client.get(f"/incidents/{site.upcoming.public_id}").get_data(as_text=True)
    assert "Scheduled maintenance" in page and "We will upgrade the database." in page


def test_history_pages_incidents_by_month(app, client):
    now = dt.datetime.now(dt.UTC)
    f.page(time_zone="UTC")
    recent = f.incident("Recent thing", status="resolved", started_at=now - dt.timedelta(hours=1))
    old = f.incident("Old thing", status="resolved", started_at=now - dt.timedelta(days=200))
    db.session.commit()
    first = client.get("/history").get_data(as_text=True)
    assert "Recent thing" in first and "Old thing" not in first
    assert now.strftime("%B %Y") in first
    assert 'rel="next"' in first
    pages = [client.get(f"/history?page={n}").get_data(as_text=True) for n in (2, 3)]
    assert any("Old thing" in p for p in pages)
    assert recent.public_id and old.public_id


def test_history_page_numbers_are_validated(app, client):
    assert client.get("/history?page=0").status_code == 404
    assert client.get("/history?page=abc").status_code == 404
    assert client.get("/history?page=99999").status_code == 404


def test_the_component_page_shows_uptime_windows_and_its_incidents(site, client):
    page = client.get("/components/web").get_data(as_text=True)
    assert "Last 7 days" in page and "Last 90 days" in page
    assert "Login failures" in page and "API errors" not in page
    assert page.count('<span class="bar b-') == 90 and 'role="img" tabindex' not in page
    # the same 90 days as a table, newest first, for keyboards and screen readers
    assert page.count('<span class="day-dot b-') == 90 and 'id="day-by-day"' in page


def test_internal_and_unknown_components_are_not_found(site, client):
    assert client.get("/components/backups").status_code == 404
    assert client.get("/components/nope").status_code == 404
