"""A maintenance window across the March/April boundary in Europe/Berlin: each month excludes its own part.

The window runs 03-31 23:00 CEST → 04-01 03:00 CEST (21:00 → 01:00 UTC): 60 minutes in March, 180 in
April, driven by the maintenance service and its worker job (scheduled → in progress → completed). Right
after it the database is down for 20 minutes (04-01 01:00–01:20 UTC). The component is monitored since
2026-01-01.

* March (44,580 minutes): 60 of maintenance excluded, no downtime → 100.00%.
* April (30 days = 43,200 minutes): 180 excluded, 20 down → 1 − 20/43,020 = 99.9535…% → 99.95% ≥ 99.9: met.
* Bars: March 31 is maintenance, 100.00%; April 1: 180 maintenance + 20 major of 1,440 → 1 − 20/1,260
  = 98.412…% → 98.41%.
"""

import pytest

from statuspage.extensions import db
from statuspage.services.audit import Actor
from statuspage.services.incidents.maintenance import advance_maintenance, schedule_maintenance
from statuspage.services.incidents.status import set_check_status
from tests.support import factories as f
from tests.uptime import surfaces as s
from tests.uptime.conftest import berlin_page

T = f.T


@pytest.fixture
def window(app, clock):
    clock(T("2026-03-20 09:00"))
    berlin_page()
    dbc = f.component("Database", slug="db", since=T("2025-12-31 23:00"))
    f.account("N-5", "Nakatomi", components=[dbc], arr=5000, sla_target=99.9)
    db.session.commit()
    m = schedule_maintenance(name="DB upgrade", scheduled_for=T("2026-03-31 21:00"),
                             scheduled_until=T("2026-04-01 01:00"), components=["db"], actor=Actor.system())
    clock(T("2026-03-31 21:00"))
    advance_maintenance()
    clock(T("2026-04-01 01:00"))
    advance_maintenance()
    set_check_status(db.session.get(type(dbc), dbc.id), "major_outage")
    db.session.commit()
    clock(T("2026-04-01 01:20"))
    set_check_status(db.session.get(type(dbc), dbc.id), "operational")
    db.session.commit()
    return m


def test_each_month_excludes_its_own_part_of_the_window(window, app, client, runner, clock):
    assert window.status == "completed"
    clock(T("2026-05-02 10:00"))
    march = s.sla_everywhere(app, client, runner, "N-5", "2026-03-01", "2026-03-31")
    s.assert_sla_row_agrees(march, uptime="100.00%", coverage="100.00%", verdict_text="met", credit=0.0,
                            monitored_minutes=44580, period_minutes=44580)
    assert march["api"]["maintenance_minutes"] == 60 and march["api"]["counted_minutes"] == 44520
    april = s.sla_everywhere(app, client, runner, "N-5", "2026-04-01", "2026-04-30")
    s.assert_sla_row_agrees(april, uptime="99.95%", coverage="100.00%", verdict_text="met", credit=0.0,
                            monitored_minutes=43200, period_minutes=43200)
    assert (april["api"]["maintenance_minutes"], april["api"]["major_outage_minutes"]) == (180, 20)
    assert april["csv"]["maintenance_minutes"] == "180.00"


def test_the_bars_and_the_90_day_figure_leave_the_window_out(window, app, client, clock, tmp_path):
    clock(T("2026-04-02 10:00"))
    read = s.read_public(app, client, "db", tmp_path, account="N-5")
    days = {label.split(":")[0]: (cls, label) for cls, label in s.bars(read.index, "db")}
    assert days["Mar 31, 2026"] == ("mn", "Mar 31, 2026: Under Maintenance, 100.00% uptime")
    assert days["Apr 1, 2026"] == ("ma", "Apr 1, 2026: Major Outage, 98.41% uptime")
    # 90 days from 01-03 00:00 CET (01-02 23:00 UTC) to now: 128,820 minutes, all monitored, 240 of them
    # maintenance: 1 − 20/128,580 = 99.984…% → 99.98%.
    assert set(s.ninety_day_figures(read, "db").values()) == {"99.98%"}
    assert s.ninety_day_words(read, "db") == {"99.98% uptime over the past 90 days"}
    assert s.from_component_page(read.component)["7"].figure == "99.77%"  # 1 − 20/(9,300 − 240) = 99.7792…%
