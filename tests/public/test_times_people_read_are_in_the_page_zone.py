"""One clock: every time a person reads is in the page's zone with its abbreviation (CET/CEST), and what a
machine reads (API, feed timestamps, iCalendar) stays UTC."""


import feedparser
import pytest
import time_machine

from statuspage.extensions import db
from statuspage.models import OutboxMessage
from statuspage.services.audit import Actor
from statuspage.services.incidents import lifecycle, maintenance, postmortems
from statuspage.services.monitoring.selfcheck import MonitoringState
from statuspage.services.notifications.oncall import alert_on_call, render_oncall_alert
from statuspage.templating import local_time, zone_label
from tests.support import factories as f
from tests.support.console import login

SYSTEM = Actor.system()
T = f.T


@pytest.mark.parametrize("moment,expected", [
    ("2026-01-15 09:30", "Jan 15, 2026 10:30 CET"),
    ("2026-07-15 09:30", "Jul 15, 2026 11:30 CEST"),
    ("2026-03-29 00:59", "Mar 29, 2026 01:59 CET"),   # the minute before clocks spring forward
    ("2026-03-29 01:00", "Mar 29, 2026 03:00 CEST"),
])
def test_local_time_names_the_zone_in_effect_at_that_instant(moment, expected):
    assert local_time(T(moment), "Europe/Berlin") == expected


def test_zones_without_letters_fall_back_to_the_offset():
    assert local_time(T("2026-01-15 09:30"), "Asia/Kolkata") == "Jan 15, 2026 15:00 IST"
    assert local_time(T("2026-01-15 09:30"), "America/Sao_Paulo") == "Jan 15, 2026 06:30 UTC-03:00"
    assert zone_label("Europe/Berlin") == "Europe/Berlin (CET/CEST)" and zone_label("UTC") == "UTC"


@pytest.fixture
def resolved(app):
    with time_machine.travel(T("2026-07-10 09:00"), tick=False):
        f.page(name="Acme Cloud", time_zone="Europe/Berlin", on_call="oncall@acme.test")
        api = f.component("Public API", slug="api", since=T("2026-07-01 00:00"))
        db.session.commit()
        inc = lifecycle.declare_incident(name="Login failures", impact="major", components={"api": "major_outage"},
                                         body="Investigating login failures.", actor=SYSTEM)
    with time_machine.travel(T("2026-07-10 09:40"), tick=False):
        lifecycle.post_update(inc, status="resolved", body="Fixed.", actor=SYSTEM)
        pm = postmortems.get_or_create_postmortem(inc, actor=SYSTEM)
        postmortems.save_postmortem(pm, actor=SYSTEM, cause_category="capacity",
                                    sections={"summary": {"body": "Sessions ran out of memory.", "public": True}})
        postmortems.publish_postmortem(pm, actor=SYSTEM)
        db.session.commit()
    return api, inc


def test_the_public_postmortem_timeline_is_in_the_zone_the_page_states(resolved, client):
    _, inc = resolved
    html = client.get(f"/incidents/{inc.public_id}").get_data(as_text=True)
    assert "Times shown in Europe/Berlin (CET/CEST)" in html
    assert "2026-07-10 11:00 CEST — <strong>Impact started</strong>" in html
    assert "2026-07-10 11:40 CEST — <strong>Resolved</strong>" in html
    assert "UTC" not in html.split('id="postmortem"', 1)[1]
    assert "Jul 10, 2026 11:40 CEST" in html  # the update trail


def test_feeds_say_the_zone_in_their_text_and_keep_utc_timestamps(resolved, client):
    _, inc = resolved
    feed = feedparser.parse(client.get("/history.atom").get_data())
    entry = feed.entries[0]
    assert "Jul 10, 2026 11:40 CEST" in entry.content[0].value
    assert entry.updated == "2026-07-10T09:40:00+00:00"
    api = client.get("/api/v2/incidents.json").json["incidents"][0]
    assert api["resolved_at"] == "2026-07-10T09:40:00.000Z"


def test_the_console_check_table_and_reports_are_in_the_page_zone(app, client):
    from tests.monitor.helpers import apply_yaml

    with time_machine.travel(T("2026-07-10 09:15"), tick=False):
        apply_yaml("page: {name: Acme, time_zone: Europe/Berlin}\ncomponents:\n  - id: api\n    name: API\n"
                   "    checks: [{id: api-health, kind: tcp, host: 127.0.0.1, port: 9, interval: 30s}]\n")
        db.session.commit()
        login(client, f.user("viewer", "vera@acme.test"))
        html = client.get("/admin/checks/api-health").get_data(as_text=True)
        assert "Hour (Europe/Berlin (CET/CEST))" in html
        assert '<time datetime="2026-07-10T09:00:00+00:00">11:00 CEST</time>' in html
        assert "that month (Europe/Berlin (CET/CEST))" in client.get("/admin/reports").get_data(as_text=True)


def test_on_call_mail_and_generated_update_texts_use_the_page_zone(resolved, app):
    api, _ = resolved
    with time_machine.travel(T("2026-07-10 10:00"), tick=False):
        alert_on_call(api, "major_outage", "api-health", {"message": "timeout"}, T("2026-07-10 10:00"))
        row = db.session.query(OutboxMessage).filter_by(kind="oncall_alert").one()
        message = render_oncall_alert({"id": row.id, "payload": row.payload}, "http://status.test")
        assert "When: Jul 10, 2026 12:00 CEST" in message.text
        m = maintenance.schedule_maintenance(name="DB upgrade", scheduled_for=T("2026-07-20 20:00"),
                                             scheduled_until=T("2026-07-20 21:00"), components=["api"], actor=SYSTEM)
        maintenance.extend_maintenance(m, until=T("2026-07-20 22:30"), actor=SYSTEM)
        assert "The maintenance window has been extended until 2026-07-21 00:30 CEST." in [u.body for u in m.updates]
    state = MonitoringState(True, T("2026-07-10 09:58"), 0)
    assert state.message == "Monitoring data is delayed: checks last ran at 2026-07-10 11:58 CEST."
