"""Results become component status: thresholds, degraded, intervals, site version — real HTTP target."""

import datetime as dt

from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check, CheckResult, Component, ComponentStatusInterval
from statuspage.services.page import current_site_version

from .helpers import apply_yaml, one_component, tick


def _component():
    db.session.expire_all()
    return db.session.scalar(select(Component).where(Component.slug == "api"))


def _run(n, start, interval=10):
    t = start
    for _ in range(n):
        t = t + dt.timedelta(seconds=interval)
        tick(t)
    return t


def test_it_goes_down_after_three_failures_and_up_after_two_successes(app, target):
    url = target.set("/health", status=500, body="boom")
    apply_yaml(one_component(url, component_extra="auto_incident: 'off'"))
    version = current_site_version()
    t = _run(2, utcnow())
    assert _component().status == "operational"  # two failures are not an outage
    t = _run(1, t)
    comp = _component()
    assert comp.status == "major_outage" and comp.status_source == "check"
    assert current_site_version() > version
    check = db.session.scalar(select(Check))
    assert check.status == "down"
    assert check.last_result["conditions"][0]["resolved"] == "[STATUS] (500) < 400"

    target.set("/health", status=200, body="ok")
    t = _run(1, t)
    assert _component().status == "major_outage"  # one success is not a recovery
    _run(1, t)
    assert _component().status == "operational"
    intervals = db.session.scalars(select(ComponentStatusInterval).order_by(ComponentStatusInterval.id)).all()
    assert [(i.status, i.ended_at is None) for i in intervals] == [
        ("operational", False), ("major_outage", False), ("operational", True)]
    assert db.session.scalar(select(CheckResult).where(CheckResult.outcome == "down")).message


def test_a_slow_response_makes_the_component_degraded(app, target):
    url = target.set("/slow", status=200, body="ok", delay=0.3)
    apply_yaml(one_component(url, check_extra='conditions: ["[STATUS] == 200", "[RESPONSE_TIME] < 100 => degraded"]',
                             component_extra="auto_incident: 'off'"))
    _run(3, utcnow())
    assert _component().status == "degraded_performance"


def test_on_down_sets_the_component_status(app, target):
    url = target.set("/x", status=503)
    apply_yaml(one_component(url, check_extra="on_down: partial_outage", component_extra="auto_incident: 'off'"))
    _run(3, utcnow())
    assert _component().status == "partial_outage"


def test_the_worst_check_wins(app, target):
    good = target.set("/good", status=200)
    bad = target.set("/bad", status=500)
    apply_yaml(f"""
page: {{name: A}}
components:
  - id: api
    name: API
    auto_incident: "off"
    checks:
      - {{id: a, kind: http, url: "{good}", interval: 10s}}
      - {{id: b, kind: http, url: "{bad}", interval: 10s, on_down: partial_outage}}
""")
    _run(3, utcnow())
    assert _component().status == "partial_outage"


def test_a_flapping_check_is_marked_and_still_tracked(app, target):
    url = target.set("/flap", status=200)
    apply_yaml(one_component(url, check_extra="failure_threshold: 1\n        success_threshold: 1",
                             component_extra="auto_incident: 'off'"))
    t = utcnow()
    for i in range(8):
        target.set("/flap", status=500 if i % 2 == 0 else 200)
        t = _run(1, t)
    check = db.session.scalar(select(Check))
    db.session.refresh(check)
    assert check.flapping is True
