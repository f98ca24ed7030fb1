"""Issue 17, item 2: one record with a control character never breaks the feeds or the export.

Services refuse control characters and lone surrogates with a clear 4xx or form error; the feed,
calendar and export builders still survive a row that holds them (written before the rule, or behind
its back); and an update's text can be corrected, audited, without notifying anyone again.
"""

from __future__ import annotations

import datetime as dt

import feedparser
import pytest
from icalendar import Calendar
from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import AuditLog, OutboxMessage
from statuspage.services.incidents.lifecycle import IncidentError, correct_update, declare_incident
from statuspage.services.site.export import export_site
from statuspage.services.users import create_token
from statuspage.text import text_problem, xml_safe
from tests.support import factories as f
from tests.support.console import csrf_from, login

BAD = ["\u000b", "\u000c", "\u0000", "\u001b[31m", "\u007f", "\u0085", "\ud800", "\udfff", "\ufffe"]


@pytest.mark.parametrize("bad", BAD, ids=[f"U+{ord(b[0]):04X}" for b in BAD])
def test_the_service_refuses_control_characters_and_lone_surrogates(app, bad):
    f.component("API", "api")
    with pytest.raises(IncidentError, match="name contains"):
        declare_incident(name=f"Outage{bad}", components={"api": "major_outage"}, actor=f.ALICE)
    with pytest.raises(IncidentError, match="body contains"):
        declare_incident(name="Outage", body=f"We are{bad} on it", components={"api": "major_outage"},
                         actor=f.ALICE)


def test_multi_line_text_keeps_its_line_breaks_and_tabs():
    assert text_problem("line one\r\nline two\n\tindented", multiline=True) is None
    assert text_problem("line one\nline two") == "must be a single line"
    assert text_problem("Ünïcödé ✓ 😀 ‮") is None


@pytest.mark.parametrize("bad", ["\u000b", "\ud800"])
def test_the_api_answers_422_naming_the_field(app, client, bad):
    f.component("API", "api")
    _, token = create_token("ci", "write")
    resp = client.post("/api/v1/incidents", json={"incident": {"name": f"Out{bad}age", "components": {
        "api": "major_outage"}}}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 422, resp.text
    assert "incident.name" in str(resp.get_json()["error"]["fields"]) or "name" in resp.get_json()["error"]["fields"]


def test_the_console_shows_a_form_error(app, client):
    f.component("API", "api")
    login(client, "responder")
    form = client.get("/admin/incidents/new")
    resp = client.post("/admin/incidents/new", data={"csrf_token": csrf_from(form.text), "name": "Out\x0bage",
                                                     "impact": "minor", "status": "investigating", "body": "x"})
    assert resp.status_code == 400 and "control character" in resp.text


@pytest.fixture
def poisoned(app):
    """Rows written behind the services' back, as before the rule existed (NUL and lone surrogates cannot
    be stored at all: the database drivers refuse them, which was the 500 the service check now avoids)."""
    api = f.component("Public\x0b API", "api")
    now = utcnow()
    inc = f.incident("Errors \x0c on\x7f the API", components={api: "major_outage"},
                     started_at=now - dt.timedelta(hours=1))
    upd = f.update(inc, "We are \x0b investigating \x08.", status="investigating", at=now - dt.timedelta(hours=1))
    f.maintenance("DB \x1b upgrade", start=now + dt.timedelta(days=1), end=now + dt.timedelta(days=1, hours=1),
                  components={api: "under_maintenance"})
    db.session.commit()
    return inc, upd


@pytest.mark.parametrize("path", ["/history.rss", "/history.atom", "/components/api/history.rss",
                                  "/components/api/history.atom"])
def test_feeds_survive_a_poisoned_record(poisoned, client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    feed = feedparser.parse(resp.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.entries[0].title == "Errors  on the API"


def test_the_calendar_badges_and_pages_survive_it_too(poisoned, client):
    ics = client.get("/maintenance.ics")
    assert ics.status_code == 200
    events = [c for c in Calendar.from_ical(ics.get_data()).walk() if c.name == "VEVENT"]
    assert str(events[0]["summary"]) == "DB  upgrade"
    for path in ("/", "/history", f"/incidents/{poisoned[0].public_id}", "/api/v2/summary.json",
                 "/badge/api.svg", "/badge/api/uptime.svg"):
        assert client.get(path).status_code == 200, path


def test_the_static_export_survives_it(poisoned, app, tmp_path):
    report = export_site(app, tmp_path / "site", base_url="https://status.example")
    assert report.files
    rss = (tmp_path / "site" / "history.rss").read_bytes()
    assert not feedparser.parse(rss).bozo


def test_an_update_can_be_corrected_audited_without_notifying_again(poisoned, client, app):
    inc, upd = poisoned
    outbox_before = db.session.query(OutboxMessage).count()
    login(client, "responder")
    page = client.get(f"/admin/incidents/{inc.public_id}")
    assert "Correct this text" in page.text
    bad = client.post(f"/admin/incidents/{inc.public_id}/updates/{upd.public_id}/correct",
                      data={"csrf_token": csrf_from(page.text), "body": "still \x0b bad"}, follow_redirects=True)
    assert "Update not corrected: body contains a control character (U+000B)" in bad.text
    done = client.post(f"/admin/incidents/{inc.public_id}/updates/{upd.public_id}/correct",
                       data={"csrf_token": csrf_from(page.text), "body": "We are investigating."},
                       follow_redirects=True)
    assert "Update corrected" in done.text
    db.session.expire_all()
    assert upd.body == "We are investigating."
    (entry,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "incident.update_corrected"))
    assert entry.before["body"] == "We are \x0b investigating \x08."
    assert entry.after["body"] == "We are investigating."
    assert db.session.query(OutboxMessage).count() == outbox_before
    feed = feedparser.parse(client.get("/history.rss").get_data())
    assert "We are investigating." in feed.entries[0].summary


def test_viewers_cannot_correct(poisoned, client):
    inc, upd = poisoned
    login(client, "viewer")
    page = client.get(f"/admin/incidents/{inc.public_id}")
    assert "Correct this text" not in page.text
    resp = client.post(f"/admin/incidents/{inc.public_id}/updates/{upd.public_id}/correct",
                       data={"csrf_token": csrf_from(page.text), "body": "x"})
    assert resp.status_code == 403


def test_correct_update_refuses_empty_text(poisoned):
    _, upd = poisoned
    with pytest.raises(IncidentError, match="cannot be empty"):
        correct_update(upd, body="   ", actor=f.ALICE)


def test_xml_safe_drops_only_what_xml_cannot_carry():
    assert xml_safe("a\x0bb\tc\nd\x00e\ud800f\U0001F600") == "ab\tc\nde" + "f\U0001F600"
