"""Storage that grows with failures, not with probes: which runs are stored, hourly and daily rollups
with latency percentiles, pruning, and slots that passed unrun being counted."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Check, CheckResult, CheckRollup
from statuspage.services.monitoring.claims import claim_due_checks
from statuspage.services.monitoring.results import probe_claimed, record_results
from statuspage.services.monitoring.rollups import (
    HOURLY_RETENTION_DAYS,
    bucket_upper_ms,
    hist_percentile,
    latency_24h,
    latency_bucket,
    rollup_and_prune,
)

from .helpers import apply_yaml, one_component, tick


def _hour(at: dt.datetime) -> dt.datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def test_steady_up_runs_are_not_stored_but_failures_and_recoveries_are(app, target):
    url = target.set("/h", status=200)
    apply_yaml(one_component(url))
    t = utcnow()
    for status in (200, 200, 200, 503, 503, 200, 200):
        target.set("/h", status=status)
        t += dt.timedelta(seconds=10)
        tick(t)
    stored = db.session.execute(select(CheckResult.outcome).order_by(CheckResult.started_at)).scalars().all()
    # the first run, both failures, the recovery; not the steady ups
    assert stored == ["up", "down", "down", "up"]
    check = db.session.scalar(select(Check))
    assert check.last_result["outcome"] == "up" and check.hour_stats["runs"] + sum(
        r.runs for r in db.session.scalars(select(CheckRollup))) == 7


def test_runs_fold_into_hourly_rollups_with_percentiles(app, target):
    url = target.set("/h", status=200)
    apply_yaml(one_component(url))
    hour = _hour(utcnow()) + dt.timedelta(hours=1)
    for minute in (1, 11, 21, 31, 41, 51):
        if minute == 31:
            target.set("/h", status=500)
        tick(hour + dt.timedelta(minutes=minute))
    assert db.session.scalar(select(func.count()).select_from(CheckRollup)) == 0  # the hour is not over
    tick(hour + dt.timedelta(minutes=61))
    (row,) = db.session.scalars(select(CheckRollup)).all()
    assert (row.period, row.period_start, row.runs, row.failures) == ("hour", hour, 6, 3)
    assert sum(row.latency_hist.values()) == 6
    assert row.p50_ms is not None and row.p50_ms <= row.p95_ms <= row.p99_ms
    points = latency_24h(row.check_id, now=hour + dt.timedelta(minutes=62))
    assert [(p["runs"], p["failures"]) for p in points[-2:]] == [(6, 3), (1, 1)]  # the last from hour_stats
    assert points[-1]["p99_ms"] is not None


@pytest.mark.parametrize(
    ("latencies", "pct", "expected"),
    [([10.0] * 100, 50, 10.0), ([1.0] * 99 + [1000.0], 99, 1.0), ([1.0] * 98 + [1000.0] * 2, 99, 1000.0),
     ([0.05, 0.05], 50, 0.1), (list(range(1, 101)), 95, 95.0)],
    ids=["constant", "p99-below-one-outlier", "p99-hits-outliers", "below-floor", "uniform"],
)
def test_histogram_percentiles_are_within_five_percent(latencies, pct, expected):
    hist: dict[str, int] = {}
    for ms in latencies:
        hist[str(latency_bucket(ms))] = hist.get(str(latency_bucket(ms)), 0) + 1
    got = hist_percentile(hist, pct)
    assert expected <= got <= expected * 1.05 + 1e-9
    assert bucket_upper_ms(latency_bucket(123.4)) >= 123.4


def test_days_merge_from_hours_and_old_rows_are_pruned(app, target):
    url = target.set("/h", status=503)
    apply_yaml(one_component(url))
    day = _hour(utcnow()).replace(hour=0) + dt.timedelta(days=1)
    for h in (1, 2, 3):
        tick(day + dt.timedelta(hours=h, minutes=5))
        tick(day + dt.timedelta(hours=h, minutes=35))
    tick(day + dt.timedelta(days=1, minutes=5))  # closes hour 3
    assert db.session.scalar(select(func.count()).select_from(CheckResult)) == 7
    later = day + dt.timedelta(days=HOURLY_RETENTION_DAYS + 2)
    out = rollup_and_prune(later, retention_days=7)
    (daily,) = db.session.scalars(select(CheckRollup).where(CheckRollup.period == "day",
                                                            CheckRollup.period_start == day)).all()
    assert (daily.runs, daily.failures) == (6, 6) and sum(daily.latency_hist.values()) == 6
    assert out["deleted"] == 7 and out["pruned_hours"] == 3
    assert db.session.scalar(select(func.count()).select_from(CheckRollup).where(CheckRollup.period == "hour")) == 0
    again = rollup_and_prune(later, retention_days=7)
    assert again["deleted"] == 0 and again["pruned_hours"] == 0
    assert db.session.scalar(select(func.count()).select_from(CheckRollup).where(CheckRollup.period == "day")) >= 1


def test_slots_that_pass_unrun_are_counted(app, target):
    url = target.set("/h", status=200)
    apply_yaml(one_component(url))  # interval 10 s
    tick(utcnow() + dt.timedelta(seconds=11))
    slot = db.session.scalar(select(Check.next_run_at))
    late = slot + dt.timedelta(seconds=25)  # two more slots pass before this run starts
    claimed = claim_due_checks("w1", late, lookahead=0)
    assert [c.slot for c in claimed] == [slot]
    claimed[0].started_at = late
    summary = record_results("w1", [(claimed[0], probe_claimed(claimed[0], late))], late)
    assert (summary.runs, summary.skipped_slots, summary.checks_behind) == (1, 2, 1)
    assert summary.max_behind_s == pytest.approx(25.0)
    assert db.session.scalar(select(Check.next_run_at)) == slot + dt.timedelta(seconds=30)
