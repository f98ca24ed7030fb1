"""Uptime from status intervals, hand-computed (both databases)."""

import pytest

from statuspage.extensions import db
from statuspage.services.uptime import Weights, component_uptime
from tests.support.factories import T, component, page, timeline

DAY = 1440  # minutes
W = Weights(partial=0.3, degraded=0.0)


def uptime_of(comp, start, end, now="2026-03-10 00:00", weights=W):
    return component_uptime([comp.id], T(start), T(end), now=T(now), weights=weights).uptime(comp.id)


def test_it_weighs_major_fully_and_partial_by_its_weight(app):
    c = component()
    timeline(c, ("2026-03-01 00:00", "operational"), ("2026-03-02 10:00", "major_outage"),
             ("2026-03-02 11:00", "partial_outage"), ("2026-03-02 13:00", "operational"))
    assert uptime_of(c, "2026-03-02 00:00", "2026-03-03 00:00") == pytest.approx(1 - (60 + 0.3 * 120) / DAY)


def test_it_counts_only_the_part_of_an_interval_after_midnight(app):
    c = component()
    timeline(c, ("2026-03-01 00:00", "operational"), ("2026-03-01 23:00", "major_outage"),
             ("2026-03-02 01:00", "operational"))
    assert uptime_of(c, "2026-03-02 00:00", "2026-03-03 00:00") == pytest.approx(1 - 60 / DAY)
    assert uptime_of(c, "2026-03-01 00:00", "2026-03-02 00:00") == pytest.approx(1 - 60 / DAY)


def test_it_clips_an_interval_that_spans_both_period_edges(app):
    c = component()
    timeline(c, ("2026-03-01 00:00", "operational"), ("2026-03-01 12:00", "partial_outage"),
             ("2026-03-04 12:00", "operational"))
    report = component_uptime([c.id], T("2026-03-02 00:00"), T("2026-03-03 00:00"), now=T("2026-03-10 00:00"),
                              weights=W)
    assert report.components[c.id].figures.partial_seconds == DAY * 60
    assert report.uptime(c.id) == pytest.approx(0.7)


def test_it_excludes_maintenance_from_the_period(app):
    c = component()
    timeline(c, ("2026-03-02 00:00", "operational"), ("2026-03-02 02:00", "under_maintenance"),
             ("2026-03-02 04:00", "major_outage"), ("2026-03-02 05:00", "operational"),
             end="2026-03-03 00:00")
    assert uptime_of(c, "2026-03-02 00:00", "2026-03-03 00:00") == pytest.approx(1 - 60 / (DAY - 120))


def test_it_runs_an_open_interval_until_now_and_ignores_the_future(app):
    c = component()
    timeline(c, ("2026-03-02 00:00", "operational"), ("2026-03-02 11:30", "major_outage"))
    assert uptime_of(c, "2026-03-02 00:00", "2026-03-03 00:00", now="2026-03-02 12:00") == \
        pytest.approx(1 - 30 / 720)


def test_it_does_not_count_time_before_the_component_existed(app):
    c = component()
    timeline(c, ("2026-03-02 12:00", "operational"), ("2026-03-02 18:00", "major_outage"),
             ("2026-03-02 18:36", "operational"))
    assert uptime_of(c, "2026-03-01 00:00", "2026-03-03 00:00") == pytest.approx(1 - 36 / 720)


def test_degraded_counts_as_up_unless_the_page_gives_it_a_weight(app):
    c = component()
    timeline(c, ("2026-03-02 00:00", "operational"), ("2026-03-02 06:00", "degraded_performance"),
             ("2026-03-02 08:00", "operational"), end="2026-03-03 00:00")
    assert uptime_of(c, "2026-03-02 00:00", "2026-03-03 00:00") == 1.0
    page(degraded_weight=0.5, partial_outage_weight=0.3)
    db.session.commit()
    report = component_uptime([c.id], T("2026-03-02 00:00"), T("2026-03-03 00:00"), now=T("2026-03-10 00:00"))
    assert report.weights == Weights(partial=0.3, degraded=0.5)
    assert report.uptime(c.id) == pytest.approx(1 - 0.5 * 120 / DAY)


def test_a_period_without_tracked_time_has_no_uptime(app):
    c = component()
    assert uptime_of(c, "2026-03-02 00:00", "2026-03-03 00:00") is None


def test_naive_datetimes_are_refused(app):
    import datetime as dt

    c = component()
    with pytest.raises(ValueError, match="timezone-aware"):
        component_uptime([c.id], dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 3))
