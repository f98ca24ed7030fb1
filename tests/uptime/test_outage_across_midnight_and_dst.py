"""An outage across local midnight and a DST change, in a Europe/Berlin page, on every surface.

Spring forward: on 2026-03-29 Berlin clocks jump from 02:00 CET to 03:00 CEST, so that local day is
23 hours long: [03-28 23:00 UTC, 03-29 22:00 UTC). The outage runs 03-28 23:30 CET → 03-29 03:30 CEST
(22:30 → 01:30 UTC): 180 real minutes, of which 30 fall on March 28 and 150 on March 29 (not the 210
the wall clock suggests).

Fall back: on 2026-10-25 clocks go from 03:00 CEST back to 02:00 CET, a 25-hour day
[10-24 22:00 UTC, 10-25 23:00 UTC). The outage 10-24 23:00 CEST → 10-25 04:00 CET (21:00 → 03:00 UTC)
is 360 minutes: 60 on October 24, 300 on October 25.
"""

import datetime as dt

import pytest

from statuspage.extensions import db
from statuspage.services.accounts.sla import month_period, sla_report
from statuspage.services.uptime import rollup_uptime
from tests.support import factories as f
from tests.uptime import surfaces as s
from tests.uptime.conftest import berlin_page

T = f.T


@pytest.fixture
def spring(app):
    berlin_page()
    api = f.component("Public API", slug="api")
    # Monitored from March 1st, local midnight (23:00 UTC the day before).
    f.timeline(api, ("2026-02-28 23:00", "operational"), ("2026-03-28 22:30", "major_outage"),
               ("2026-03-29 01:30", "operational"))
    f.incident("API down overnight", components={api: "major_outage"}, impact="critical", status="resolved",
               started_at=T("2026-03-28 22:30"), resolved_at=T("2026-03-29 01:30"))
    f.account("G-1", "Globex", components=[api], arr=120000, sla_target=99.9)
    db.session.commit()
    return api


def test_each_local_day_gets_its_own_minutes_and_length(spring, client, clock):
    clock(T("2026-04-02 10:00"))
    page = client.get("/").get_data(as_text=True)
    by_day = {label.split(":")[0]: (cls, label) for cls, label in s.bars(page, "api")}
    # March 28: 30 of 1,440 minutes down → 97.916…% → 97.91%. March 29 (23 h): 150 of 1,380 → 89.130…%.
    assert by_day["Mar 28, 2026"] == ("ma", "Mar 28, 2026: Major Outage, 97.91% uptime; incidents: API down overnight")
    assert by_day["Mar 29, 2026"] == ("ma", "Mar 29, 2026: Major Outage, 89.13% uptime; incidents: API down overnight")
    assert by_day["Mar 30, 2026"][0] == "op" and "100.00% uptime" in by_day["Mar 30, 2026"][1]
    # Before monitoring began: grey, and it says so.
    assert by_day["Feb 28, 2026"] == ("nd", "Feb 28, 2026: no data (not monitored)")


@pytest.mark.parametrize("rolled_up", [False, True], ids=["from-intervals", "from-rollups"])
def test_every_surface_shows_the_same_figures(spring, app, client, runner, clock, tmp_path, rolled_up):
    if rolled_up:  # the worker's rollup job ran every day: closed days come from the rollups
        for day in range(1, 34):
            clock(T("2026-02-28 23:30") + dt.timedelta(days=day))
            rollup_uptime()
            db.session.commit()
    clock(T("2026-04-02 10:00"))
    read = s.read_public(app, client, "api", tmp_path, account="G-1")
    # 90 days: monitoring began 03-01 00:00 CET (02-28 23:00 UTC), 32 days 11 hours = 46,740 minutes ago:
    # 1 − 180/46,740 = 99.6149…% → 99.61%.
    assert set(s.ninety_day_figures(read, "api").values()) == {"99.61%"}
    assert s.ninety_day_words(read, "api") == {"99.61% uptime over the 32 days since monitoring began"}
    windows = s.from_component_page(read.component)
    # 7 days from 03-27 00:00 CET (03-26 23:00 UTC): 9,300 minutes, fully monitored: 1 − 180/9,300 = 98.0645…%.
    assert (windows["7"].figure, windows["7"].words) == ("98.06%", "")
    # 30 days from 03-04 00:00 CET: 42,420 minutes: 1 − 180/42,420 = 99.5756…%.
    assert (windows["30"].figure, windows["30"].words) == ("99.57%", "")
    assert windows["90"].words == "Over the 32 days since monitoring began"
    assert s.from_badge(read.badge).words.endswith("| Public API uptime since Mar 1")


def test_the_march_sla_counts_the_real_minutes_of_the_short_day(spring, app, client, runner, clock):
    clock(T("2026-04-02 10:00"))
    # March in Berlin: 03-01 00:00 CET → 04-01 00:00 CEST = 743 hours = 44,580 minutes, all monitored.
    # 1 − 180/44,580 = 99.5962…% → 99.59% < 99.9 → breached; first rule below: < 99.9 → 10 %.
    start, end = month_period(2026, 3)
    row = sla_report(start, end).row("G-1")
    assert (row.uptime.period_seconds / 60, row.uptime.monitored_seconds / 60) == (44580, 44580)
    rows = s.sla_everywhere(app, client, runner, "G-1", "2026-03-01", "2026-03-31")
    s.assert_sla_row_agrees(rows, uptime="99.59%", coverage="100.00%", verdict_text="breached", credit=10.0,
                            monitored_minutes=44580, period_minutes=44580)
    assert rows["api"]["major_outage_minutes"] == 180 and rows["api"]["downtime_minutes"] == 180
    assert [i["name"] for i in rows["api"]["incidents"]] == ["API down overnight"]


def test_falling_back_makes_a_25_hour_day(app, client, clock):
    berlin_page()
    api = f.component("Public API", slug="api")
    f.timeline(api, ("2026-09-30 22:00", "operational"), ("2026-10-24 21:00", "major_outage"),
               ("2026-10-25 03:00", "operational"))
    db.session.commit()
    clock(T("2026-10-27 12:00"))
    by_day = {label.split(":")[0]: label for _, label in s.bars(client.get("/").get_data(as_text=True), "api")}
    # October 24: 60 of 1,440 minutes → 95.833…%; October 25 (25 h = 1,500 minutes): 300 down → 80.00%.
    assert by_day["Oct 24, 2026"] == "Oct 24, 2026: Major Outage, 95.83% uptime"
    assert by_day["Oct 25, 2026"] == "Oct 25, 2026: Major Outage, 80.00% uptime"
    start, end = month_period(2026, 10)
    # October in Berlin: 31 days + 1 hour = 44,700 minutes; monitored from 10-01 00:00 CEST to now.
    assert (end - start).total_seconds() / 60 == 44700


def test_an_outage_of_the_last_seconds_colours_today_while_the_figures_stay_those_of_the_minute(spring, client,
                                                                                               clock):
    from statuspage.services.incidents.status import set_check_status

    clock(T("2026-04-02 10:00:20"))
    set_check_status(spring, "major_outage")
    db.session.commit()
    clock(T("2026-04-02 10:00:45"))
    page = client.get("/").get_data(as_text=True)
    assert s.from_index(page, "api").figure == "99.61%"  # as of 10:00, like every surface this minute
    assert s.bars(page, "api")[-1] == ("ma", "Apr 2, 2026: Major Outage, 100.00% uptime")
    assert s.from_badge(client.get("/badge/api/uptime.svg").get_data()).figure == "99.61%"
