"""Daily rollups: which days the job recomputes, when it bumps the site version, bars read from them."""

import datetime as dt

import pytest
from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import ComponentUptimeDay
from statuspage.services.page import current_site_version
from statuspage.services.uptime import (
    Weights,
    invalidate_uptime_days,
    rollup_uptime,
    uptime_bars,
)
from tests.support.factories import T, component, interval, timeline

W = Weights(partial=0.3)


def rows(comp):
    return {r.day: r for r in db.session.scalars(select(ComponentUptimeDay)
                                                 .where(ComponentUptimeDay.component_id == comp.id))}


def test_it_splits_intervals_into_utc_days_with_seconds_per_status(app):
    c = component()
    timeline(c, ("2026-03-01 00:00", "operational"), ("2026-03-01 23:00", "major_outage"),
             ("2026-03-02 01:00", "operational"), ("2026-03-02 05:00", "under_maintenance"),
             ("2026-03-02 06:00", "operational"))
    rollup_uptime(T("2026-03-03 12:00"))
    days = rows(c)
    assert sorted(days) == [dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)]
    assert days[dt.date(2026, 3, 1)].major_seconds == 3600
    assert days[dt.date(2026, 3, 1)].worst_status == "major_outage"
    d2 = days[dt.date(2026, 3, 2)]
    assert (d2.major_seconds, d2.maintenance_seconds, d2.tracked_seconds) == (3600, 3600, 86400)
    assert days[dt.date(2026, 3, 3)].tracked_seconds == 12 * 3600  # today, until now
    assert days[dt.date(2026, 3, 3)].worst_status == "operational"


def test_a_closed_day_is_computed_once_more_after_midnight_then_is_final(app):
    c = component()
    timeline(c, ("2026-03-02 00:00", "operational"))
    rollup_uptime(T("2026-03-02 23:59"))
    assert rows(c)[dt.date(2026, 3, 2)].tracked_seconds == 86340
    rollup_uptime(T("2026-03-03 00:01"))
    assert rows(c)[dt.date(2026, 3, 2)].tracked_seconds == 86400
    # History written backwards afterwards is not picked up by itself (closed days are final)...
    interval(c, "major_outage", T("2026-03-02 10:00"), T("2026-03-02 10:00") + dt.timedelta(minutes=1))
    rollup_uptime(T("2026-03-03 00:20"))
    assert rows(c)[dt.date(2026, 3, 2)].major_seconds == 0
    # ...until the days are invalidated.
    invalidate_uptime_days(c.id, dt.date(2026, 3, 2), dt.date(2026, 3, 2))
    rollup_uptime(T("2026-03-03 00:21"))
    assert rows(c)[dt.date(2026, 3, 2)].major_seconds == 60


def test_an_interval_closed_since_the_last_run_recomputes_the_day_it_ended(app):
    c = component()
    timeline(c, ("2026-03-01 00:00", "operational"))
    outage = interval(c, "major_outage", T("2026-03-02 23:30"), None)
    rollup_uptime(T("2026-03-03 00:10"))
    assert rows(c)[dt.date(2026, 3, 3)].major_seconds == 600
    outage.ended_at = T("2026-03-03 00:20")
    rollup_uptime(T("2026-03-03 00:30"))
    assert rows(c)[dt.date(2026, 3, 3)].major_seconds == 1200


def test_it_bumps_the_site_version_only_when_a_public_bar_changes(app):
    c = component()
    hidden = component("Internal", public=False)
    timeline(c, ("2026-03-02 00:00", "operational"))
    timeline(hidden, ("2026-03-02 00:00", "operational"))
    rollup_uptime(T("2026-03-02 10:00"))
    db.session.commit()
    v1 = current_site_version()
    rollup_uptime(T("2026-03-02 10:01"))  # still 100%, still operational
    db.session.commit()
    assert current_site_version() == v1
    interval(hidden, "major_outage", T("2026-03-02 10:01"), None)
    rollup_uptime(T("2026-03-02 10:02"))
    db.session.commit()
    assert current_site_version() == v1
    interval(c, "partial_outage", T("2026-03-02 10:02"), None)
    rollup_uptime(T("2026-03-02 10:05"))
    db.session.commit()
    assert current_site_version() == v1 + 1


def test_bars_read_closed_days_from_rollups_and_compute_today_live(app):
    c = component()
    timeline(c, ("2026-03-01 00:00", "operational"), ("2026-03-03 06:00", "partial_outage"),
             ("2026-03-03 07:00", "operational"))
    rollup_uptime(T("2026-03-03 00:05"))
    # Tamper with a closed day's rollup: the bar must show it (it never rescans intervals).
    row = rows(c)[dt.date(2026, 3, 2)]
    row.major_seconds, row.worst_status = 864.0, "major_outage"
    db.session.commit()
    bars = uptime_bars([c], T("2026-03-03 12:00"), days=3, weights=W)[c.id]
    assert [b.status for b in bars.days] == ["operational", "major_outage", "partial_outage"]
    assert bars.days[1].uptime == pytest.approx(0.99)
    assert bars.days[2].uptime == pytest.approx(1 - 0.3 * 3600 / (12 * 3600), abs=1e-6)


def test_days_before_the_start_date_have_no_data(app):
    c = component(start_date=dt.date(2026, 3, 2))
    timeline(c, ("2026-02-20 00:00", "major_outage"))
    rollup_uptime(T("2026-03-03 12:00"))
    bars = uptime_bars([c], T("2026-03-03 12:00"), days=4, weights=W)[c.id]
    assert [b.status for b in bars.days] == [None, None, "major_outage", "major_outage"]
    assert bars.total.figures.tracked_seconds == 86400 + 12 * 3600
