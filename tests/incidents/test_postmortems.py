"""Postmortems: prefilled timeline, public/internal sections, cause taxonomy, action items, publishing."""

import datetime as dt

from statuspage.services.incidents import lifecycle as svc
from statuspage.services.incidents import postmortems as pm_svc
from statuspage.services.page import get_page
from tests.support.factories import ALICE, make_components

T0 = dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.UTC)


def _resolved_incident():
    (api,) = make_components("api")
    inc = svc.declare_incident(name="Login failures", impact="major", components={api.id: "major_outage"},
                               body="Investigating login failures.", actor=ALICE, now=T0)
    svc.post_update(inc, status="resolved", body="Fixed the session store.", actor=ALICE,
                    now=T0 + dt.timedelta(minutes=40))
    return inc


def test_the_timeline_is_prefilled_and_only_public_sections_are_published(app, client):
    inc = _resolved_incident()
    pm = pm_svc.get_or_create_postmortem(inc, actor=ALICE)
    timeline = next(s for s in pm.sections if s["key"] == "timeline")["body"]
    assert "2026-02-10 09:00 UTC" in timeline and "Investigating login failures." in timeline
    assert "set to Major Outage" in timeline and "Resolved" in timeline
    pm_svc.save_postmortem(pm, actor=ALICE, cause_category="capacity", sections={
        "summary": {"body": "Sessions ran out of memory.", "public": True},
        "lessons_learned": {"body": "Our alerting was too slow (internal).", "public": False}})
    assert client.get(f"/incidents/{inc.public_id}").get_data(as_text=True).count("Sessions ran out") == 0
    pm_svc.publish_postmortem(pm, actor=ALICE, now=T0 + dt.timedelta(days=1))
    assert inc.status == "postmortem" and inc.cause_category == "capacity"
    html = client.get(f"/incidents/{inc.public_id}").get_data(as_text=True)
    assert "Sessions ran out of memory." in html and "too slow (internal)" not in html


def test_publishing_needs_a_resolved_incident_and_a_known_cause(app):
    (api,) = make_components("api")
    inc = svc.declare_incident(name="Open", impact="minor", actor=ALICE)
    pm = pm_svc.get_or_create_postmortem(inc, actor=ALICE)
    for call, field in ((lambda: pm_svc.publish_postmortem(pm, actor=ALICE), "status"),
                        (lambda: pm_svc.save_postmortem(pm, actor=ALICE, cause_category="gremlins"),
                         "cause_category")):
        try:
            call()
        except pm_svc.IncidentError as exc:
            assert exc.field == field
        else:
            raise AssertionError("accepted")


def test_the_cause_taxonomy_comes_from_the_page_settings(app):
    page = get_page()
    page.settings = {"cause_categories": [{"id": "cosmic-rays", "name": "Cosmic rays"}]}
    assert [c["id"] for c in pm_svc.cause_categories()] == ["cosmic-rays"]
    page.settings = {}
    assert "dependency" in [c["id"] for c in pm_svc.cause_categories()]


def test_action_items_become_overdue(app):
    pm = pm_svc.get_or_create_postmortem(_resolved_incident(), actor=ALICE)
    item = pm_svc.add_action_item(pm, title="Add memory alerts", owner="sre@acme.test", due_date="2026-03-01",
                                  link="https://tracker.acme.test/SRE-1", actor=ALICE)
    assert pm_svc.overdue_action_items(dt.date(2026, 3, 2)) == [item]
    pm_svc.update_action_item(item, status="done", actor=ALICE)
    assert pm_svc.overdue_action_items(dt.date(2026, 3, 2)) == []
