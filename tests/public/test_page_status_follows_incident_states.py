"""The headline follows what is true now: component statuses and the states of open incidents.

Driven through the incident service; the trust page, /api/v2/status.json and summary.json agree, and the
API keeps to Statuspage's indicator and description words.
"""

import datetime as dt
import re

import pytest

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import WorkerHeartbeat
from statuspage.services.audit import Actor
from statuspage.services.incidents import lifecycle
from statuspage.services.site import public as public_site
from tests.support import factories as f

SYSTEM = Actor.system()
DESCRIPTIONS = set(public_site.INDICATOR_DESCRIPTIONS.values())


def headline(client):
    html = client.get("/").get_data(as_text=True)
    title = html.split('id="overall-heading">', 1)[1].split("<", 1)[0]
    notes = re.findall(r'class="banner-note"[^>]*>([^<]*)<', html)
    status = client.get("/api/v2/status.json").json["status"]
    assert client.get("/api/v2/summary.json").json["status"] == status
    assert status["indicator"] in public_site.INDICATOR_RANK and status["description"] in DESCRIPTIONS
    return title, notes, status


@pytest.fixture
def api(app):
    f.page(name="Acme Cloud", time_zone="Europe/Berlin")
    comp = f.component("Public API", slug="api", since=utcnow() - dt.timedelta(days=3))
    db.session.commit()
    return comp


def test_an_incident_in_monitoring_with_every_component_operational_reads_as_such(api, client):
    inc = lifecycle.declare_incident(name="Elevated API errors", impact="major", components={"api": "partial_outage"},
                                     body="Investigating.", actor=SYSTEM)
    title, _, status = headline(client)
    assert title == "Partial System Outage" and status == {"indicator": "major", "description": "Partial System Outage"}
    lifecycle.post_update(inc, status="monitoring", body="A fix is deployed.", components={"api": "operational"},
                          actor=SYSTEM)
    title, notes, status = headline(client)
    assert title == "All Systems Operational"
    assert notes == ["Every component is operational. We are monitoring the fix for: Elevated API errors."]
    assert status == {"indicator": "none", "description": "All Systems Operational"}
    # The incident is still open and listed, with its state.
    assert [i["status"] for i in client.get("/api/v2/incidents/unresolved.json").json["incidents"]] == ["monitoring"]


def test_monitoring_with_a_component_still_down_keeps_the_outage_headline(api, client):
    inc = lifecycle.declare_incident(name="API down", impact="critical", components={"api": "major_outage"},
                                     body="Investigating.", actor=SYSTEM)
    lifecycle.post_update(inc, status="monitoring", body="Recovering.", actor=SYSTEM)
    title, notes, status = headline(client)
    assert title == "Major System Outage" and status["indicator"] == "critical"
    assert notes == ["We are monitoring the fix for: API down."]


def test_an_incident_still_being_worked_on_raises_the_headline_even_without_component_changes(api, client):
    lifecycle.declare_incident(name="Some logins fail", impact="minor", components={}, body="Looking.",
                               status="identified", actor=SYSTEM)
    title, _, status = headline(client)
    assert title == "Minor Service Outage" and status == {"indicator": "minor", "description": "Minor Service Outage"}


def test_delayed_monitoring_never_gives_a_stale_all_clear_yet_the_api_keeps_statuspage_words(app, client):
    from tests.monitor.helpers import apply_yaml

    apply_yaml("page: {name: Acme}\ncomponents:\n  - id: api\n    name: API\n"
               "    checks: [{id: api-health, kind: tcp, host: 127.0.0.1, port: 9, interval: 30s}]\n")
    now = utcnow()
    db.session.add(WorkerHeartbeat(id="w1", hostname="h", pid=1, started_at=now, last_seen_at=now,
                                   last_checks_at=now - dt.timedelta(seconds=900)))
    db.session.commit()
    public_site._DELAY_MEMO[0] = 0.0
    title, notes, status = headline(client)
    assert title == "Monitoring Data Delayed" and "have not reported recently" in notes[0]
    assert status == {"indicator": "minor", "description": "Minor Service Outage"}
