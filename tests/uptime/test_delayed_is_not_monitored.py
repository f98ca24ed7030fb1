"""Monitoring data delayed is not monitored: a component whose quorum cannot be decided is left out of its
uptime, exactly like a monitoring gap — not counted at its last status (a guess).

``api`` is probed from local, eu-west and us-east (quorum 2, a majority; agents stale after 60 s; the
page's zone is UTC). The config is applied and every location reports at 2026-03-01 12:00. On 03-02
both agents are silent: the worker's sweep at 10:00 finds them stale, the check cannot be decided and
the page says "Monitoring data delayed", until both report again at 10:30. The worker itself keeps
running checks (no monitoring gap).

* While it goes on (10:20): today so far is 620 minutes, 600 of them monitored.
* Day 03-02: 1,410 of 1,440 minutes monitored → coverage 97.91%, uptime 100.00% (nothing measured was
  down). The SLA report of the day says the same on every surface, ``/api/v1/sla`` included.
* Read at 03-03 00:00: monitored 03-01 12:00 → 03-03 00:00 = 2,160 − 30 = 2,130 minutes ("36 hours");
  7-day window 8,640 minutes → coverage 24.65%; 30 days 41,760 → 5.10%; 90 days 128,160 → 1.66%.
  Without the delay the page would say "over the 36 hours since monitoring began".
"""

import datetime as dt

import pytest
from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import Check, Component, ComponentMonitoringDelay, ComponentUptimeDay
from statuspage.services.monitoring.locations import sweep_locations
from statuspage.services.uptime import Coverage, component_uptime, rollup_uptime, uptime_bars
from tests.locations.helpers import apply_three, post, probe_tokens, record_local, result, text_of
from tests.support import factories as f
from tests.uptime import surfaces as s
from tests.uptime.heartbeats import heartbeat

T = f.T
BEGAN = T("2026-03-01 12:00")
SILENT = T("2026-03-02 10:00")  # the sweep finds both agents stale
BACK = T("2026-03-02 10:30")  # both agents report again
DAY = ("2026-03-02", "2026-03-02")


def _api() -> Component:
    return db.session.scalar(select(Component).where(Component.slug == "api"))


def _check() -> Check:
    db.session.expire_all()
    return db.session.scalar(select(Check).where(Check.slug == "api-health"))


def _delays() -> list[tuple]:
    db.session.expire_all()
    return db.session.execute(select(ComponentMonitoringDelay.started_at, ComponentMonitoringDelay.ended_at)
                              .order_by(ComponentMonitoringDelay.started_at)).all()


@pytest.fixture
def delayed(app, client, clock):
    """Up to 03-02 10:00, when the sweep finds both agents stale: the delay is open."""
    clock(BEGAN)
    apply_three()
    heartbeat("w1", BEGAN)
    tokens = probe_tokens("eu-west", "us-east")
    cid = _check().id
    record_local(cid, BEGAN)
    for loc in ("eu-west", "us-east"):
        assert post(client, loc, tokens[loc], [result(cid, BEGAN)]).status_code == 200
    check = _check()
    assert (check.status, check.monitoring_delayed) == ("up", False)
    # Locations reporting one after another in one instant leave no stretch behind.
    assert _delays() == []

    clock(SILENT)
    heartbeat("w1", SILENT)
    sweep_locations()
    check = _check()
    assert (check.status, check.monitoring_delayed) == ("unknown", True)
    return cid, tokens


def _come_back(client, tokens: dict[str, str], cid: int) -> None:
    for loc in ("eu-west", "us-east"):
        assert post(client, loc, tokens[loc], [result(cid, BACK)]).status_code == 200


def test_an_ongoing_delay_is_not_monitored_up_to_now(delayed, app, client, runner, clock):
    cid, _ = delayed
    assert _delays() == [(SILENT, None)]
    clock(T("2026-03-02 10:05"))
    heartbeat("w1", T("2026-03-02 10:05"))
    sweep_locations()  # decided again, still delayed: nothing new is opened
    assert _delays() == [(SILENT, None)]

    now = clock(T("2026-03-02 10:20"))
    heartbeat("w1", now)
    api = _api()
    day = component_uptime([api.id], T("2026-03-02 00:00"), T("2026-03-03 00:00")).components[api.id]
    assert (day.monitored_seconds, day.period_seconds) == (600 * 60, 1440 * 60)
    html = client.get("/").get_data(as_text=True)
    assert "Monitoring data delayed" in text_of(html, "//li[@data-component='api']")
    assert s.bars(html, "api")[-1][1].endswith("(monitored 10 hours of the day)")
    rows = s.sla_everywhere(app, client, runner, "CRM-EU", *DAY)
    assert (rows["api"]["monitored_minutes"], rows["api"]["period"]["minutes"]) == (600, 1440)


def test_the_delay_closes_when_the_agents_report_and_every_surface_leaves_it_out(delayed, app, client, runner,
                                                                                  clock, tmp_path):
    cid, tokens = delayed
    clock(BACK)
    heartbeat("w1", BACK)
    _come_back(client, tokens, cid)
    check = _check()
    assert (check.status, check.monitoring_delayed) == ("up", False)
    assert _delays() == [(SILENT, BACK)]
    sweep_locations()  # nothing left open to close, nothing to open
    assert _delays() == [(SILENT, BACK)]

    now = clock(T("2026-03-03 00:00"))
    heartbeat("w1", now)
    api = _api()
    day = component_uptime([api.id], T("2026-03-02 00:00"), T("2026-03-03 00:00")).components[api.id]
    assert (day.monitored_seconds, day.figures.major_seconds, day.text) == (1410 * 60, 0, "100.00%")
    assert day.coverage == 1410 / 1440

    read = s.read_public(app, client, "api", tmp_path, account="CRM-EU")
    assert set(s.ninety_day_figures(read, "api").values()) == {"100.00%"}
    assert s.ninety_day_words(read, "api") == {
        "100.00% uptime over 36 hours monitored in the past 90 days (coverage 1.66%)"}
    windows = s.from_component_page(read.component)
    assert (windows["7"].words, windows["30"].words) == (
        "Over 36 hours monitored in the past 7 days (coverage 24.65%)",
        "Over 36 hours monitored in the past 30 days (coverage 5.10%)")
    assert s.bars(read.index, "api")[-2][1] == "Mar 2, 2026: operational, 100.00% uptime (monitored 24 hours of the day)"

    rows = s.sla_everywhere(app, client, runner, "CRM-EU", *DAY)
    s.assert_sla_row_agrees(rows, uptime="100.00%", coverage="97.91%", verdict_text=rows["api"]["verdict_text"],
                            credit=0.0, monitored_minutes=1410, period_minutes=1440)

    # The rollups of the days the delay touched were dropped when it closed; the job writes them again
    # and the bars do not move.
    before = [b.text for b in uptime_bars([api])[api.id].days]
    rollup_uptime()
    assert db.session.scalar(select(ComponentUptimeDay.tracked_seconds).where(
        ComponentUptimeDay.component_id == api.id, ComponentUptimeDay.day == dt.date(2026, 3, 2))) == 1410 * 60
    assert [b.text for b in uptime_bars([api])[api.id].days] == before


def test_closing_drops_the_rollups_of_the_days_it_touched(delayed, client, clock):
    cid, tokens = delayed
    clock(T("2026-03-02 10:10"))
    heartbeat("w1", T("2026-03-02 10:10"))
    rollup_uptime()  # today's row, written while the delay is open
    api = _api()
    assert db.session.scalar(select(ComponentUptimeDay.id).where(ComponentUptimeDay.component_id == api.id,
                                                                ComponentUptimeDay.day == dt.date(2026, 3, 2)))
    clock(BACK)
    heartbeat("w1", BACK)
    _come_back(client, tokens, cid)
    assert db.session.scalar(select(ComponentUptimeDay.id).where(ComponentUptimeDay.component_id == api.id,
                                                                ComponentUptimeDay.day == dt.date(2026, 3, 2))) is None


def test_a_minute_any_component_was_delayed_is_not_monitored_for_the_account():
    """Combined (an account's SLA): the worst status of a minute one of its components could not decide is
    not a measurement, like a gap — the other components' statuses do not stand in for it."""
    a, b = T("2026-03-02 10:00"), T("2026-03-02 10:30")
    cov = Coverage(tz=dt.UTC, start_dates={}, checked=set(), gaps=[], delays={1: [(a, b)]})
    day = (T("2026-03-02 00:00"), T("2026-03-03 00:00"), "operational")
    combined = cov.monitored_combined({1: [day], 2: [day]})
    assert combined == [(day[0], a, "operational"), (b, day[1], "operational")]
    assert cov.monitored(2, [day]) == [day] and cov.holes(1) == [(a, b)]
