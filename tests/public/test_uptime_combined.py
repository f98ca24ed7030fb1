"""Combined uptime of several components (what an account using them experienced)."""

import pytest

from statuspage.services.uptime import Weights, combine_segments, component_uptime
from tests.support.factories import T, component, timeline

DAY = 1440
W = Weights(partial=0.3)


def test_a_minute_is_down_if_any_component_is_down_weighted_by_the_worst(app):
    a, b = component("API"), component("DB")
    timeline(a, ("2026-03-02 00:00", "operational"), ("2026-03-02 10:00", "major_outage"),
             ("2026-03-02 11:00", "operational"), end="2026-03-03 00:00")
    timeline(b, ("2026-03-02 00:00", "operational"), ("2026-03-02 10:30", "partial_outage"),
             ("2026-03-02 12:00", "operational"), end="2026-03-03 00:00")
    report = component_uptime([a.id, b.id], T("2026-03-02 00:00"), T("2026-03-03 00:00"),
                              now=T("2026-03-05 00:00"), weights=W)
    # 10:00–11:00 major (worst of major and partial), 11:00–12:00 partial.
    assert report.combined.figures.major_seconds == 3600
    assert report.combined.figures.partial_seconds == 3600
    assert report.uptime() == pytest.approx(1 - (60 + 0.3 * 60) / DAY)
    assert report.uptime(a.id) == pytest.approx(1 - 60 / DAY)
    assert report.uptime(b.id) == pytest.approx(1 - 0.3 * 90 / DAY)


def test_maintenance_is_excluded_only_when_every_component_is_in_it(app):
    a, b = component("API"), component("DB")
    timeline(a, ("2026-03-02 00:00", "operational"), ("2026-03-02 13:00", "under_maintenance"),
             ("2026-03-02 15:00", "operational"), end="2026-03-03 00:00")
    timeline(b, ("2026-03-02 00:00", "operational"), ("2026-03-02 14:00", "under_maintenance"),
             ("2026-03-02 15:00", "major_outage"), ("2026-03-02 15:30", "operational"), end="2026-03-03 00:00")
    report = component_uptime([a.id, b.id], T("2026-03-02 00:00"), T("2026-03-03 00:00"),
                              now=T("2026-03-05 00:00"), weights=W)
    # 13:00–14:00: A in maintenance, B up → counts as up; 14:00–15:00 both → excluded.
    assert report.combined.figures.maintenance_seconds == 3600
    assert report.uptime() == pytest.approx(1 - 30 / (DAY - 60))


def test_a_component_that_did_not_exist_yet_does_not_dilute_the_combined_figure(app):
    a, b = component("API"), component("New")
    timeline(a, ("2026-03-02 00:00", "operational"), ("2026-03-02 06:00", "major_outage"),
             ("2026-03-02 07:00", "operational"), end="2026-03-03 00:00")
    timeline(b, ("2026-03-02 12:00", "operational"), end="2026-03-03 00:00")
    report = component_uptime([a.id, b.id], T("2026-03-02 00:00"), T("2026-03-03 00:00"),
                              now=T("2026-03-05 00:00"), weights=W)
    assert report.combined.figures.tracked_seconds == DAY * 60
    assert report.uptime() == pytest.approx(1 - 60 / DAY)


def test_combining_merges_adjacent_segments_of_the_same_status():
    segs = combine_segments([[(T("2026-03-02 00:00"), T("2026-03-02 01:00"), "operational")],
                             [(T("2026-03-02 00:30"), T("2026-03-02 02:00"), "operational")]])
    assert segs == [(T("2026-03-02 00:00"), T("2026-03-02 02:00"), "operational")]
