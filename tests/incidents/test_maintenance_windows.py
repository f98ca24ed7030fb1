"""Scheduled maintenance: reminders, automatic start and completion, extend, cancel, alert suppression."""

import datetime as dt
from unittest import mock

from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import AuditLog
from statuspage.services.incidents import maintenance as svc
from statuspage.services.incidents.status import is_under_maintenance
from statuspage.services.notifications import events as notify
from tests.support.factories import ALICE, make_components

T0 = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)
START, END = T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=4)


def _schedule(**kw):
    return svc.schedule_maintenance(name="DB upgrade", scheduled_for=START, scheduled_until=END,
                                    components=["db"], body="Upgrading PostgreSQL.", actor=ALICE, now=T0, **kw)


def test_it_reminds_then_starts_then_completes_by_the_clock(app):
    (comp,) = make_components("db")
    with mock.patch.object(notify, "notify_event", autospec=True, wraps=notify.notify_event) as sent:
        m = _schedule(reminder_minutes=30)
        assert m.status == "scheduled" and comp.status == "operational"
        assert svc.advance_maintenance(START - dt.timedelta(minutes=45)).reminded == []
        assert svc.advance_maintenance(START - dt.timedelta(minutes=29)).reminded == [m.public_id]
        assert svc.advance_maintenance(START - dt.timedelta(minutes=28)).reminded == []  # once only
        assert is_under_maintenance(comp.id, START - dt.timedelta(minutes=1)) is False
        report = svc.advance_maintenance(START + dt.timedelta(seconds=5))
        assert report.started == [m.public_id]
        assert (comp.status, comp.status_source) == ("under_maintenance", "maintenance")
        assert is_under_maintenance(comp.id, START + dt.timedelta(minutes=1))
        report = svc.advance_maintenance(END + dt.timedelta(seconds=5))
        assert report.completed == [m.public_id] and m.status == "completed"
        assert (comp.status, comp.status_source) == ("operational", "check")
        assert not is_under_maintenance(comp.id, END + dt.timedelta(minutes=1))
    events = [c.args[0] for c in sent.call_args_list]
    assert events == ["maintenance_scheduled", "maintenance_reminder", "maintenance_started",
                      "maintenance_completed"]


def test_it_can_be_extended_and_cancelled_with_an_update(app):
    (comp,) = make_components("db")
    m = _schedule()
    svc.advance_maintenance(START + dt.timedelta(seconds=1))
    svc.extend_maintenance(m, until=END + dt.timedelta(hours=1), actor=ALICE, now=START + dt.timedelta(minutes=5))
    assert svc.advance_maintenance(END + dt.timedelta(minutes=1)).completed == []  # extended: still running
    assert m.status == "in_progress"
    svc.cancel_maintenance(m, body="Rolled back, will retry.", actor=ALICE, now=END + dt.timedelta(minutes=2))
    assert m.status == "cancelled" and comp.status == "operational"
    bodies = [u.body for u in sorted(m.updates, key=lambda u: u.created_at)]
    assert bodies[-1] == "Rolled back, will retry." and "extended" in bodies[-2]
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert {"maintenance.schedule", "maintenance.in_progress", "maintenance.extend",
            "maintenance.cancelled"} <= actions


def test_a_verifying_step_can_be_taken_by_hand(app):
    make_components("db")
    m = _schedule(auto_transition=False)
    assert svc.advance_maintenance(START + dt.timedelta(minutes=1)).started == []  # manual window
    svc.post_maintenance_update(m, status="in_progress", actor=ALICE, now=START)
    svc.post_maintenance_update(m, status="verifying", body="Checking replicas.", actor=ALICE, now=START)
    assert m.status == "verifying"
    svc.post_maintenance_update(m, status="completed", actor=ALICE, now=START)
    assert m.status == "completed"


def test_bad_windows_are_refused(app):
    make_components("db")
    for start, end in ((END, START), (START, START + dt.timedelta(days=40))):
        try:
            svc.schedule_maintenance(name="x", scheduled_for=start, scheduled_until=end, components=["db"],
                                     actor=ALICE, now=T0)
        except svc.IncidentError as exc:
            assert exc.field == "scheduled_until"
        else:
            raise AssertionError("accepted a bad window")
