"""The daily bars (rollups for closed days, intervals for the rest) sum to exactly what the one uptime
computation gives over the same window — for random histories in a DST zone, with monitoring gaps, a
start date, and rollups written at random moments (some days final, some not, some missing)."""

import datetime as dt
import random

import pytest
import time_machine

from statuspage.extensions import db
from statuspage.models import MonitoringGap
from statuspage.services.uptime import component_uptime, rollup_uptime, uptime_bars
from tests.support import factories as f
from tests.support.factories import make_check

STATUSES = ["operational", "operational", "operational", "degraded_performance", "partial_outage", "major_outage",
            "under_maintenance"]


@pytest.mark.parametrize("seed", range(8))
def test_bar_sums_equal_the_direct_computation(app, seed):
    rnd = random.Random(seed)
    f.page(time_zone=rnd.choice(["Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"]),
           partial_outage_weight=0.3, degraded_weight=rnd.choice([0.0, 0.5]))
    now = f.T("2026-03-30 10:17") + dt.timedelta(minutes=rnd.randint(0, 60 * 24 * 3))  # around a DST change
    comps = []
    for n in range(3):
        began = now - dt.timedelta(days=rnd.randint(2, 120), minutes=rnd.randint(0, 1439))
        comp = f.component(f"C{n}", slug=f"c{n}",
                           start_date=(now - dt.timedelta(days=rnd.randint(0, 100))).date() if rnd.random() < 0.3 else None)
        if n < 2:
            make_check(comp, slug=f"probe-{n}")
        at, steps = began, []
        while at < now:
            steps.append((at.strftime("%Y-%m-%d %H:%M"), rnd.choice(STATUSES)))
            at += dt.timedelta(minutes=rnd.randint(5, 60 * 30))
        f.timeline(comp, *steps)
        comps.append(comp)
    for _ in range(rnd.randint(0, 3)):
        start = now - dt.timedelta(days=rnd.randint(0, 80), minutes=rnd.randint(0, 1439))
        db.session.add(MonitoringGap(started_at=start, ended_at=start + dt.timedelta(minutes=rnd.randint(6, 900))))
    db.session.commit()
    for _ in range(rnd.randint(0, 4)):  # the rollup job ran at some moments, or never
        with time_machine.travel(now - dt.timedelta(minutes=rnd.randint(0, 60 * 24 * 10)), tick=False):
            rollup_uptime()

    with time_machine.travel(now, tick=False):
        bars = uptime_bars(comps, now)
        for comp in comps:
            total = bars[comp.id].total
            direct = component_uptime([comp.id], total.start, now, now=now).components[comp.id]
            for name in ("major_seconds", "partial_seconds", "degraded_seconds", "maintenance_seconds",
                         "tracked_seconds"):
                assert getattr(total.figures, name) == pytest.approx(getattr(direct.figures, name), abs=1e-3), name
            assert total.text == direct.text
            assert total.first_monitored == direct.first_monitored
            for days in (7, 30):
                window = bars[comp.id].last(days)
                direct = component_uptime([comp.id], window.start, now, now=now).components[comp.id]
                assert window.text == direct.text and window.monitored_seconds == pytest.approx(direct.monitored_seconds)
