"""Service-level transitions of an incident: declare, update, resolve, reopen, notes, timestamps."""

import datetime as dt

from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import AuditLog, ComponentStatusInterval, IncidentUpdateComponent, SiteVersion
from statuspage.services.incidents import lifecycle as svc
from statuspage.services.incidents.status import set_check_status
from tests.support.factories import ALICE, make_components

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _declare(api, web, **kw):
    return svc.declare_incident(name="Elevated errors", impact="major",
                                components={api.id: "major_outage", web.slug: "partial_outage"},
                                body="We are investigating.", actor=ALICE, now=T0, **kw)


def test_it_declares_a_published_incident_and_sets_component_statuses(app):
    api, web = make_components("api", "web")
    inc = _declare(api, web)
    assert len(inc.public_id) == 12 and inc.public_id.isalnum() and inc.public_id.islower()
    assert inc.status == "investigating" and inc.published_at == T0
    assert (api.status, api.status_source) == ("major_outage", "incident")
    assert web.status == "partial_outage"
    assert inc.started_at == T0 and inc.detected_at == T0 and inc.acknowledged_at == T0
    changes = db.session.scalars(select(IncidentUpdateComponent)).all()
    assert {(c.old_status, c.new_status) for c in changes} == {("operational", "major_outage"),
                                                              ("operational", "partial_outage")}
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "incident.create"))
    assert db.session.scalar(select(SiteVersion.version)) > 1


def test_it_moves_through_identified_monitoring_resolved_and_components_return_to_checks(app):
    api, web = make_components("api", "web")
    set_check_status(web, "degraded_performance")  # the checks still see trouble on web
    db.session.commit()
    inc = _declare(api, web)
    svc.post_update(inc, status="identified", body="Bad deploy.", actor=ALICE, now=T0 + dt.timedelta(minutes=5))
    assert inc.mitigated_at is None
    svc.post_update(inc, status="monitoring", body="Rolled back.", components={"api": "operational"},
                    actor=ALICE, now=T0 + dt.timedelta(minutes=10))
    assert inc.mitigated_at == T0 + dt.timedelta(minutes=10)
    assert api.status == "operational" and web.status == "partial_outage"
    svc.post_update(inc, status="resolved", body="Fixed.", actor=ALICE, now=T0 + dt.timedelta(minutes=30))
    assert inc.status == "resolved" and inc.resolved_at == T0 + dt.timedelta(minutes=30)
    assert (api.status, api.status_source) == ("operational", "check")
    assert (web.status, web.status_source) == ("degraded_performance", "check")
    statuses = [u.status for u in sorted(inc.updates, key=lambda u: u.created_at)]
    assert statuses == ["investigating", "identified", "monitoring", "resolved"]
    intervals = db.session.scalars(select(ComponentStatusInterval).where(
        ComponentStatusInterval.component_id == api.id).order_by(ComponentStatusInterval.id)).all()
    # Set operational by the incident at monitoring, then handed back to the checks on resolve.
    assert [(i.status, i.source) for i in intervals] == [
        ("operational", "check"), ("major_outage", "incident"), ("operational", "incident"),
        ("operational", "check")]


def test_it_reopens_a_resolved_incident_with_an_update(app):
    api, web = make_components("api", "web")
    inc = _declare(api, web)
    svc.post_update(inc, status="resolved", body="Fixed.", actor=ALICE, now=T0 + dt.timedelta(minutes=30))
    svc.post_update(inc, status="investigating", body="It is back.", components={"api": "major_outage"},
                    actor=ALICE, now=T0 + dt.timedelta(minutes=40))
    assert inc.status == "investigating" and inc.resolved_at is None
    assert api.status == "major_outage"
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "incident.reopen"))


def test_internal_notes_are_kept_off_the_public_timeline(app):
    api, web = make_components("api", "web")
    inc = _declare(api, web)
    version = db.session.scalar(select(SiteVersion.version))
    note = svc.add_internal_note(inc, "Paged the DB team", actor=ALICE)
    assert note.internal and not note.notify and note.status == "investigating"
    assert db.session.scalar(select(SiteVersion.version)) == version


def test_key_timestamps_are_editable_and_validated(app):
    api, web = make_components("api", "web")
    inc = _declare(api, web)
    svc.edit_incident(inc, actor=ALICE, timestamps={"started_at": T0 - dt.timedelta(minutes=20)})
    assert inc.started_at == T0 - dt.timedelta(minutes=20)
    try:
        svc.edit_incident(inc, actor=ALICE, timestamps={"detected_at": T0 - dt.timedelta(hours=2)})
    except svc.IncidentError as exc:
        assert exc.field == "detected_at"
    else:
        raise AssertionError("detected before started was accepted")


def test_bad_input_is_refused_with_the_field_named(app):
    api, web = make_components("api", "web")
    for kwargs, field in (({"impact": "huge"}, "impact"), ({"components": {"nope": "major_outage"}}, "components.nope"),
                          ({"components": {"api": "broken"}}, "components.api"), ({"name": " "}, "name")):
        args = {"name": "x", "impact": "minor", "actor": ALICE, **kwargs}
        try:
            svc.declare_incident(**args)
        except svc.IncidentError as exc:
            assert exc.field == field
        else:
            raise AssertionError(f"{kwargs} accepted")
