"""What Statuspage's API needed from the service layer: components and groups outside the config file,
correcting an update, deleting an incident, resending a confirmation, importing subscribers without mail,
page settings, and backfilled status history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select

from statuspage.configfile import parse_config
from statuspage.extensions import db
from statuspage.models import (
    AuditLog,
    ComponentStatusInterval,
    Incident,
    IncidentUpdate,
    OutboxMessage,
    Subscriber,
)
from statuspage.services.config_sync import apply_config
from statuspage.services.incidents.components import (
    ComponentError,
    archive_component,
    archive_group,
    create_component,
    create_group,
    update_component,
    update_group,
)
from statuspage.services.incidents.lifecycle import (
    IncidentError,
    declare_incident,
    delete_incident,
    edit_update,
    post_update,
)
from statuspage.services.incidents.postmortems import get_or_create_postmortem
from statuspage.services.incidents.status import backfill_history
from statuspage.services.notifications.subscriptions import (
    ImportedSubscriber,
    confirm,
    import_email_subscribers,
    request_subscription,
    resend_confirmation,
    unsubscribe,
)
from statuspage.services.page import current_site_version
from statuspage.services.page_settings import PageSettingsError, update_page_settings
from statuspage.services.statuspage_import.history import combine
from tests.support.factories import ALICE

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "statuspage.yml"
T = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_components_and_groups_made_through_the_api_survive_config_apply(app):
    apply_config(parse_config(EXAMPLE.read_text(), env={}))
    version = current_site_version()
    group = create_group(name="Zahlung & Kasse", actor=ALICE)
    comp = create_component(name="Zahlung & Kasse", description="*md*", group=group, status="partial_outage",
                            actor=ALICE)
    assert (group.slug, comp.slug, comp.source, comp.status) == ("zahlung-kasse", "zahlung-kasse", "api",
                                                                 "partial_outage")
    assert current_site_version() > version
    again = create_component(name="Zahlung & Kasse", actor=ALICE)
    assert again.slug == "zahlung-kasse-2"
    report = apply_config(parse_config(EXAMPLE.read_text(), env={}))
    assert not report.changed, report.summary()
    db.session.refresh(comp)
    assert comp.archived_at is None and comp.group_id == group.id
    intervals = db.session.scalars(select(ComponentStatusInterval.status).where(
        ComponentStatusInterval.component_id == comp.id).order_by(ComponentStatusInterval.id)).all()
    assert intervals == ["operational", "partial_outage"]


def test_updating_a_component_changes_only_what_is_given_and_is_audited(app):
    group = create_group(name="Core", actor=ALICE)
    comp = create_component(name="API", group=group, actor=ALICE)
    update_component(comp, description="REST", actor=ALICE)
    assert comp.group_id == group.id and comp.description == "REST"
    update_component(comp, group=None, status="major_outage", actor=ALICE)
    assert comp.group_id is None and comp.status == "major_outage"
    version = current_site_version()
    update_component(comp, description="REST", actor=ALICE)  # no change: no audit row, no bump
    assert current_site_version() == version
    with pytest.raises(ComponentError):
        update_component(comp, status="on_fire", actor=ALICE)
    with pytest.raises(ComponentError):
        update_component(comp, name=" ", actor=ALICE)
    db.session.rollback()
    update_group(group, components=[comp], name="Core platform", actor=ALICE)
    assert comp.group_id == group.id and group.name == "Core platform"
    archive_group(group, actor=ALICE)
    assert group.archived_at is not None and comp.group_id is None
    archive_component(comp, actor=ALICE)
    assert comp.archived_at is not None
    assert actions().count("component.update") == 2
    assert "component_group.archive" in actions() and "component.archive" in actions()


def test_editing_an_update_corrects_its_text_and_time_without_notifying(app):
    comp = create_component(name="API", actor=ALICE)
    request_subscription("ops@customer.example")
    confirm(db.session.scalar(select(Subscriber)))
    inc = declare_incident(name="Outage", components={comp: "major_outage"}, body="Typo hre", actor=ALICE)
    sent = db.session.scalar(select(func.count(OutboxMessage.id)))
    upd = inc.updates[0]
    version = current_site_version()
    edit_update(upd, body="Typo here", display_at=T, actor=ALICE)
    assert (upd.body, upd.display_at, upd.status) == ("Typo here", T, "investigating")
    assert current_site_version() > version
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == sent
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "incident.update_edit")).before["body"] == \
        "Typo hre"
    with pytest.raises(IncidentError):
        edit_update(upd, display_at=dt.datetime(2026, 3, 1), actor=ALICE)


def test_deleting_an_incident_frees_its_components_and_cancels_its_mail(app):
    comp = create_component(name="API", actor=ALICE)
    request_subscription("ops@customer.example")
    confirm(db.session.scalar(select(Subscriber)))
    inc = declare_incident(name="False alarm", components={comp: "major_outage"}, actor=ALICE)
    post_update(inc, status="resolved", body="Was nothing.", actor=ALICE)
    get_or_create_postmortem(inc, actor=ALICE)
    inc2 = declare_incident(name="Real", components={comp: "partial_outage"}, actor=ALICE)
    assert comp.status == "partial_outage"
    delete_incident(inc2, actor=ALICE)
    delete_incident(inc, actor=ALICE)
    assert db.session.scalar(select(func.count(Incident.id))) == 0
    assert db.session.scalar(select(func.count(IncidentUpdate.id))) == 0
    assert comp.status == "operational"
    pending = db.session.scalars(select(OutboxMessage.status).where(OutboxMessage.kind.like("incident_%"))).all()
    assert pending and set(pending) == {"cancelled"}
    assert actions().count("incident.delete") == 2
    assert db.session.scalar(select(func.count(ComponentStatusInterval.id)).where(
        ComponentStatusInterval.component_id == comp.id)) >= 3  # the history stays


def test_resending_a_confirmation_only_reaches_pending_email_subscribers(app):
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        sub = request_subscription("new@customer.example").subscriber
        assert resend_confirmation(sub, actor=ALICE) is False  # the first link went out this minute
    with time_machine.travel(start + dt.timedelta(hours=2), tick=False):
        assert resend_confirmation(sub, actor=ALICE) is True  # a window later, it goes again
        confirm(sub)
        assert resend_confirmation(sub, actor=ALICE) is False  # never to someone who confirmed
    assert actions().count("subscriber.resend_confirmation") == 2


def test_importing_subscribers_never_mails_and_never_resubscribes_an_opt_out(app):
    api = create_component(name="API", actor=ALICE)
    opted_out = request_subscription("gone@customer.example").subscriber
    confirm(opted_out)
    unsubscribe(opted_out)
    mail_before = db.session.scalar(select(func.count(OutboxMessage.id)))
    out = import_email_subscribers([
        ImportedSubscriber("A@Customer.example", "active", [api], created_at=T),
        ImportedSubscriber("b@customer.example", "unconfirmed", None),
        ImportedSubscriber("c@customer.example", "quarantined", None, quarantined_at=T + H),
        ImportedSubscriber("d@customer.example", "unsubscribed", None),
        ImportedSubscriber("gone@customer.example", "active", None),
    ], actor=ALICE)
    db.session.commit()
    states = {s.email: s.state for s in db.session.scalars(select(Subscriber))}
    assert states == {"a@customer.example": "active", "b@customer.example": "pending",
                      "c@customer.example": "quarantined", "d@customer.example": "unsubscribed",
                      "gone@customer.example": "unsubscribed"}
    assert out["gone@customer.example"][1] == "unchanged" and out["a@customer.example"][1] == "created"
    a = db.session.scalar(select(Subscriber).where(Subscriber.email == "a@customer.example"))
    assert a.confirmed_at == T and [c.component_id for c in a.components] == [api.id] and not a.all_components
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == mail_before
    again = import_email_subscribers([ImportedSubscriber("a@customer.example", "unsubscribed", [api])], actor=ALICE)
    assert again["a@customer.example"][1] == "updated" and a.state == "unsubscribed"


def test_page_settings_are_checked_and_audited(app):
    version = current_site_version()
    page = update_page_settings(name="Acme Status", time_zone="Europe/Berlin", actor=ALICE)
    assert (page.name, page.time_zone) == ("Acme Status", "Europe/Berlin")
    assert current_site_version() > version and "page.update" in actions()
    for tz in ("Mars/Olympus", "Europe", "../etc/passwd", "x" * 100):
        with pytest.raises(PageSettingsError):
            update_page_settings(time_zone=tz, actor=ALICE)


def test_backfilled_history_is_replaced_only_when_it_changes_and_never_overlaps_live_history(app):
    comp = create_component(name="API", actor=ALICE, now=T + 10 * H)
    wanted = combine([(T + H, T + 2 * H, "major_outage"), (T + 90 * dt.timedelta(minutes=1), T + 3 * H,
                                                            "degraded_performance")], T, T + 10 * H)
    assert wanted == [(T, T + H, "operational"), (T + H, T + 2 * H, "major_outage"),
                      (T + 2 * H, T + 3 * H, "degraded_performance"), (T + 3 * H, T + 10 * H, "operational")]
    assert backfill_history(comp, wanted, source="import") is True
    assert backfill_history(comp, wanted, source="import") is False
    with pytest.raises(ValueError):
        backfill_history(comp, [(T, T + 11 * H, "operational")], source="import")  # into live history
    with pytest.raises(ValueError):
        backfill_history(comp, wanted, source="manual")
    rows = db.session.scalars(select(ComponentStatusInterval.source).where(
        ComponentStatusInterval.component_id == comp.id)).all()
    assert sorted(rows) == ["import"] * 4 + ["manual"]  # the live interval, from when the component was made
