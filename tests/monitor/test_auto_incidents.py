"""Checks open auto-incidents (draft or published), alert on-call, and move them to monitoring on recovery."""

import datetime as dt

from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Component, Incident, IncidentCheck, OutboxMessage
from statuspage.services.incidents.maintenance import schedule_maintenance

from .helpers import apply_yaml, one_component, tick


def _run(n, t, interval=10):
    for _ in range(n):
        t = t + dt.timedelta(seconds=interval)
        tick(t)
    return t


def test_a_failing_component_opens_a_draft_incident_with_the_resolved_conditions(app, target):
    url = target.set("/h", status=503)
    apply_yaml(one_component(url, component_extra="auto_incident: draft"))
    _run(3, utcnow())
    inc = db.session.scalar(select(Incident))
    assert inc.source == "auto" and inc.status == "investigating" and inc.published_at is None
    link = db.session.scalar(select(IncidentCheck))
    assert link.result["conditions"][0]["resolved"] == "[STATUS] (503) < 400"
    assert db.session.scalar(select(OutboxMessage.recipient).where(OutboxMessage.kind == "oncall_alert")) \
        == "oncall@acme.example"
    # a draft does not change the public status by itself: the checks already did
    assert db.session.scalar(select(Component.status)) == "major_outage"


def test_publish_mode_publishes_at_once_and_recovery_moves_it_to_monitoring(app, target):
    url = target.set("/h", status=500)
    apply_yaml(one_component(url, component_extra="auto_incident: publish"))
    t = _run(3, utcnow())
    inc = db.session.scalar(select(Incident))
    assert inc.published_at is not None
    target.set("/h", status=200)
    _run(2, t)
    db.session.expire_all()
    inc = db.session.scalar(select(Incident))
    assert inc.status == "monitoring"
    assert [u.status for u in inc.updates][:2] == ["monitoring", "investigating"]


def test_maintenance_suppresses_alerts_and_auto_incidents(app, target):
    url = target.set("/h", status=500)
    apply_yaml(one_component(url, component_extra="auto_incident: publish"))
    comp = db.session.scalar(select(Component))
    now = utcnow()
    from statuspage.services.audit import Actor

    schedule_maintenance(name="DB upgrade", components=[comp], body="Upgrading",
                         scheduled_for=now - dt.timedelta(minutes=1), scheduled_until=now + dt.timedelta(hours=1),
                         actor=Actor.system("test"))
    _run(3, now)
    assert db.session.scalar(select(Incident).where(Incident.kind == "incident")) is None
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "oncall_alert")) is None
