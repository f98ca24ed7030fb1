"""Check history without a row per probe: hourly and daily rollups (runs, failures, latency percentiles).

Each run folds into its check's ``hour_stats`` (runs, failures, degraded, a latency histogram) in the
same UPDATE that records the run; when a run falls into a new hour, the finished hour becomes a
``CheckRollup`` row (:func:`fold_run`). The hourly job merges complete days from their hours and prunes
what has aged out. Latency percentiles come from a histogram with buckets 5 % wide, so hours merge into
days exactly (to the bucket) and p50/p95/p99 are within 5 % of the true value.

Stored runs (``CheckResult``: every run that was not up, recoveries, first runs) are kept for
``STATUSPAGE_RESULT_RETENTION_DAYS``; hourly rollups for :data:`HOURLY_RETENTION_DAYS`; daily ones
for good. A rollup row is unique per (check, period, start) and written with insert-or-ignore, so a job
that runs twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import delete, func, select

from ...db import insert_ignore, utcnow
from ...extensions import db
from ...models import Check, CheckResult, CheckRollup

HOURLY_RETENTION_DAYS = 35
_BUCKET_BASE = 1.05  # each bucket 5 % wider than the one before
_BUCKET_FLOOR_MS = 0.1  # everything faster lands in bucket 0


def latency_bucket(ms: float) -> int:
    """The histogram bucket of a latency: 0 up to 0.1 ms, then buckets 5 % wide."""
    if ms <= _BUCKET_FLOOR_MS:
        return 0
    return math.ceil(math.log(ms / _BUCKET_FLOOR_MS, _BUCKET_BASE))


def bucket_upper_ms(bucket: int) -> float:
    """The upper bound of a bucket in milliseconds (what a percentile in that bucket reports)."""
    return _BUCKET_FLOOR_MS * _BUCKET_BASE**bucket


def hist_percentile(hist: dict[str, int], pct: float) -> float | None:
    """The ``pct`` percentile of a histogram ``{bucket: count}`` (upper bound of its bucket), in ms."""
    total = sum(hist.values())
    if not total:
        return None
    rank = max(1, math.ceil(pct / 100 * total))
    seen = 0
    for bucket in sorted(hist, key=int):
        seen += hist[bucket]
        if seen >= rank:
            return round(bucket_upper_ms(int(bucket)), 2)
    return None  # pragma: no cover - rank ≤ total


def merge_hists(hists: list[dict[str, int] | None]) -> dict[str, int]:
    """Add histograms bucket by bucket."""
    out: dict[str, int] = {}
    for hist in hists:
        for bucket, count in (hist or {}).items():
            out[bucket] = out.get(bucket, 0) + count
    return out


def _hour_of(at: dt.datetime) -> dt.datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def fold_run(check_id: int, stats: dict | None, started: dt.datetime, outcome: str,
             latency_ms: float | None) -> tuple[dict, dict | None]:
    """Fold one run into a check's ``hour_stats``; return ``(new stats, finished hour's rollup row or None)``.

    Runs of one check arrive in order (one claim at a time), so an hour is finished once a run of a
    later hour arrives.
    """
    hour = _hour_of(started).isoformat()
    finished = None
    if stats and stats.get("hour") != hour:
        finished = rollup_row(check_id, "hour", dt.datetime.fromisoformat(stats["hour"]), stats)
        stats = None
    stats = dict(stats) if stats else {"hour": hour, "runs": 0, "failures": 0, "degraded": 0, "hist": {}}
    stats["runs"] += 1
    if outcome == "down":
        stats["failures"] += 1
    elif outcome == "degraded":
        stats["degraded"] += 1
    if latency_ms is not None:
        hist = dict(stats["hist"])
        bucket = str(latency_bucket(latency_ms))
        hist[bucket] = hist.get(bucket, 0) + 1
        stats["hist"] = hist
    return stats, finished


def rollup_row(check_id: int, period: str, start: dt.datetime, stats: dict) -> dict:
    """A ``check_rollup`` row from accumulated figures (``runs``, ``failures``, ``degraded``, ``hist``)."""
    hist = stats.get("hist") or {}
    return {"check_id": check_id, "period": period, "period_start": start, "runs": stats.get("runs", 0),
            "failures": stats.get("failures", 0), "degraded": stats.get("degraded", 0),
            "p50_ms": hist_percentile(hist, 50), "p95_ms": hist_percentile(hist, 95),
            "p99_ms": hist_percentile(hist, 99), "latency_hist": hist}


def write_rollups(rows: list[dict]) -> None:
    """Insert finished rollup rows (a row already there stays: re-running is harmless)."""
    if rows:
        db.session.execute(insert_ignore(CheckRollup.__table__).on_conflict_do_nothing(), rows)


def latency_24h(check_id: int, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Hourly latency (p50/p95/p99), runs and failures for the last 24 hours, oldest first.

    Finished hours come from the rollups; the current one from the check's ``hour_stats``.
    """
    now = now or utcnow()
    start = _hour_of(now - dt.timedelta(hours=23))
    hours: dict[dt.datetime, dict] = {}
    for r in db.session.scalars(select(CheckRollup).where(
            CheckRollup.check_id == check_id, CheckRollup.period == "hour", CheckRollup.period_start >= start)):
        hours[r.period_start] = {"runs": r.runs, "failures": r.failures, "p50_ms": r.p50_ms,
                                 "p95_ms": r.p95_ms, "p99_ms": r.p99_ms}
    current = db.session.scalar(select(Check.hour_stats).where(Check.id == check_id))
    if current and current.get("hour"):
        at = dt.datetime.fromisoformat(current["hour"])
        if at >= start and at not in hours:
            row = rollup_row(check_id, "hour", at, current)
            hours[at] = {k: row[k] for k in ("runs", "failures", "p50_ms", "p95_ms", "p99_ms")}
    empty = {"runs": 0, "failures": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None}
    return [{"hour": (start + dt.timedelta(hours=h)).isoformat(), **hours.get(start + dt.timedelta(hours=h), empty)}
            for h in range(24)]


def rollup_and_prune(now: dt.datetime | None = None, *, retention_days: int = 7, batch: int = 20_000) -> dict:
    """Merge complete days from their hourly rollups, then prune stored runs older than the retention
    and hourly rollups older than :data:`HOURLY_RETENTION_DAYS`. Re-running is harmless."""
    now = now or utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    last_day = db.session.scalar(select(func.max(CheckRollup.period_start)).where(CheckRollup.period == "day"))
    first_hour = db.session.scalar(select(func.min(CheckRollup.period_start)).where(CheckRollup.period == "hour"))
    days = 0
    if first_hour is not None:
        day = (last_day + dt.timedelta(days=1)) if last_day else first_hour.replace(hour=0)
        while day < today and days < 40:
            _merge_day(day)
            db.session.commit()
            day += dt.timedelta(days=1)
            days += 1
    deleted = _prune(CheckResult, CheckResult.started_at, now - dt.timedelta(days=retention_days), batch)
    pruned_hours = _prune(CheckRollup, CheckRollup.period_start, now - dt.timedelta(days=HOURLY_RETENTION_DAYS),
                          batch, CheckRollup.period == "hour")
    return {"days": days, "deleted": deleted, "pruned_hours": pruned_hours}


def _merge_day(day: dt.datetime) -> None:
    rows = db.session.execute(
        select(CheckRollup.check_id, CheckRollup.runs, CheckRollup.failures, CheckRollup.degraded,
               CheckRollup.latency_hist)
        .where(CheckRollup.period == "hour", CheckRollup.period_start >= day,
               CheckRollup.period_start < day + dt.timedelta(days=1))).all()
    per_check: dict[int, dict] = {}
    for check_id, runs, failures, degraded, hist in rows:
        acc = per_check.setdefault(check_id, {"runs": 0, "failures": 0, "degraded": 0, "hists": []})
        acc["runs"] += runs or 0
        acc["failures"] += failures or 0
        acc["degraded"] += degraded or 0
        acc["hists"].append(hist)
    write_rollups([rollup_row(check_id, "day", day, {**acc, "hist": merge_hists(acc["hists"])})
                   for check_id, acc in per_check.items()])


def _prune(model, column, cutoff: dt.datetime, batch: int, *where) -> int:
    deleted = 0
    while True:
        ids = db.session.scalars(select(model.id).where(column < cutoff, *where).limit(batch)).all()
        if not ids:
            return deleted
        deleted += db.session.execute(delete(model).where(model.id.in_(ids))).rowcount
        db.session.commit()
