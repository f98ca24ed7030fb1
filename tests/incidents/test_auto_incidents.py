"""Auto-incidents: the service entry points the checks engine calls (open, move to monitoring on recovery,
resolve when quiet), then end to end from real checks against a real target (draft or published, on-call
alerted, held during maintenance)."""

import datetime as dt

from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Component, Incident, IncidentCheck, OutboxMessage
from statuspage.services.incidents import auto as auto_svc
from statuspage.services.incidents import lifecycle as lifecycle_svc
from statuspage.services.incidents import maintenance as maint
from statuspage.services.incidents.maintenance import schedule_maintenance
from statuspage.services.incidents.status import is_under_maintenance, set_check_status
from tests.monitor.helpers import apply_yaml, one_component, tick
from tests.support.factories import ALICE, make_check, make_components

T0 = dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC)
RESULT = {"outcome": "down", "conditions": [{"text": "[STATUS] == 200", "resolved": "[STATUS] (503) == 200", "ok": False}]}


def test_a_draft_auto_incident_is_held_then_acknowledged_and_published_in_one_step(app):
    (api,) = make_components("api")
    check = make_check(api)
    inc = auto_svc.open_auto_incident(api, check, RESULT, T0, publish=False)
    db.session.commit()
    assert inc.is_draft and inc.source == "auto" and inc.status == "investigating"
    assert inc.acknowledged_at is None and inc.detected_at == T0
    assert api.status == "operational"  # a draft does not change the public status
    assert db.session.scalar(select(IncidentCheck.result)) == RESULT
    assert auto_svc.open_auto_incident(api, check, RESULT, T0, publish=False) is inc  # no second incident
    later = T0 + dt.timedelta(minutes=7)
    lifecycle_svc.publish_draft(inc, actor=ALICE, name="API unavailable", impact="critical", body="We're on it.", now=later)
    assert not inc.is_draft and inc.acknowledged_at == later and inc.effective_impact == "critical"
    assert api.status == "major_outage"


def test_recovery_moves_to_monitoring_and_quiet_incidents_resolve(app):
    (api,) = make_components("api")
    api.auto_resolve_after = 600
    check = make_check(api)
    set_check_status(api, "major_outage", T0)
    inc = auto_svc.open_auto_incident(api, check, RESULT, T0, publish=True)
    db.session.commit()
    assert api.status == "major_outage" and inc.published_at == T0
    set_check_status(api, "operational", T0 + dt.timedelta(minutes=5))
    assert auto_svc.on_component_recovered(api, T0 + dt.timedelta(minutes=5)) is inc
    db.session.commit()
    assert inc.status == "monitoring" and inc.mitigated_at == T0 + dt.timedelta(minutes=5)
    assert inc.acknowledged_at is None  # the system is not a human
    assert auto_svc.resolve_quiet_auto_incidents(T0 + dt.timedelta(minutes=10)) == []
    assert auto_svc.resolve_quiet_auto_incidents(T0 + dt.timedelta(minutes=16)) == [inc]
    assert inc.status == "resolved" and api.status == "operational"


def test_no_auto_incident_under_maintenance_or_when_off(app):
    db_comp, web = make_components("db", "web")
    web.auto_incident = "off"
    maint.schedule_maintenance(name="Upgrade", scheduled_for=T0 - dt.timedelta(minutes=1),
                               scheduled_until=T0 + dt.timedelta(hours=1), components=["db"], actor=ALICE, now=T0)
    assert is_under_maintenance(db_comp.id, T0)
    assert auto_svc.open_auto_incident(db_comp, make_check(db_comp, "db-port"), RESULT, T0, publish=True) is None
    assert auto_svc.open_auto_incident(web, make_check(web, "web-home"), RESULT, T0, publish=True) is None
    assert db.session.scalar(select(Incident).where(Incident.kind == "incident")) is None


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
