"""Hourly and daily check rollups (runs, failures, latency percentiles) and pruning of raw results.

Raw results are kept for a bounded time (``STATUSPAGE_RESULT_RETENTION_DAYS``); history and charts
read the rollups. A rollup row is unique per (check, period, start) and written with insert-or-ignore,
so a job that runs twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, delete, func, select

from ...db import insert_ignore, utcnow
from ...extensions import db
from ...models import CheckResult, CheckRollup


def latency_24h(check_id: int, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Hourly latency (p50/p95), runs and failures for the last 24 hours, oldest first."""
    now = now or utcnow()
    start = (now - dt.timedelta(hours=23)).replace(minute=0, second=0, microsecond=0)
    rows = db.session.execute(
        select(CheckResult.started_at, CheckResult.latency_ms, CheckResult.outcome)
        .where(CheckResult.check_id == check_id, CheckResult.started_at >= start)).all()
    buckets: dict[dt.datetime, list] = {}
    for started, latency, outcome in rows:
        buckets.setdefault(started.replace(minute=0, second=0, microsecond=0), []).append((latency, outcome))
    rollups = {r.period_start: r for r in db.session.scalars(
        select(CheckRollup).where(CheckRollup.check_id == check_id, CheckRollup.period == "hour",
                                  CheckRollup.period_start >= start))}
    out = []
    for h in range(24):
        hour = start + dt.timedelta(hours=h)
        samples = buckets.get(hour)
        if samples:
            lat = sorted(s[0] for s in samples if s[0] is not None)
            out.append({"hour": hour.isoformat(), "runs": len(samples),
                        "failures": sum(1 for s in samples if s[1] == "down"),
                        "p50_ms": _percentile(lat, 50), "p95_ms": _percentile(lat, 95)})
        elif hour in rollups:
            r = rollups[hour]
            out.append({"hour": hour.isoformat(), "runs": r.runs, "failures": r.failures,
                        "p50_ms": r.p50_ms, "p95_ms": r.p95_ms})
        else:
            out.append({"hour": hour.isoformat(), "runs": 0, "failures": 0, "p50_ms": None, "p95_ms": None})
    return out


def _percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, round(pct / 100 * (len(sorted_values) - 1))))
    return round(sorted_values[k], 2)


def rollup_and_prune(now: dt.datetime | None = None, *, retention_days: int = 7, batch: int = 20_000) -> dict:
    """Roll raw results up per check per hour and day (runs, failures, p50/p95), then delete raw rows
    older than the retention. Hours are rolled up once complete; re-running is harmless."""
    now = now or utcnow()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    last = db.session.scalar(select(func.max(CheckRollup.period_start)).where(CheckRollup.period == "hour"))
    oldest = db.session.scalar(select(func.min(CheckResult.started_at)))
    if oldest is None:
        return {"hours": 0, "deleted": 0}
    start = (last + dt.timedelta(hours=1)) if last else oldest.replace(minute=0, second=0, microsecond=0)
    hours = 0
    while start < this_hour and hours < 24 * 8:
        end = start + dt.timedelta(hours=1)
        _rollup_window(start, end, "hour")
        if end.hour == 0:
            _rollup_window(end - dt.timedelta(days=1), end, "day")
        start = end
        hours += 1
    db.session.commit()
    cutoff = now - dt.timedelta(days=retention_days)
    deleted = 0
    while True:
        ids = db.session.scalars(select(CheckResult.id).where(CheckResult.started_at < cutoff).limit(batch)).all()
        if not ids:
            break
        deleted += db.session.execute(delete(CheckResult).where(CheckResult.id.in_(ids))).rowcount
        db.session.commit()
    return {"hours": hours, "deleted": deleted}


def _rollup_window(start: dt.datetime, end: dt.datetime, period: str) -> None:
    rows = db.session.execute(
        select(CheckResult.check_id, CheckResult.latency_ms, CheckResult.outcome)
        .where(and_(CheckResult.started_at >= start, CheckResult.started_at < end))).all()
    per_check: dict[int, list] = {}
    for check_id, latency, outcome in rows:
        per_check.setdefault(check_id, []).append((latency, outcome))
    values = []
    for check_id, samples in per_check.items():
        lat = sorted(s[0] for s in samples if s[0] is not None)
        values.append({"check_id": check_id, "period": period, "period_start": start, "runs": len(samples),
                       "failures": sum(1 for s in samples if s[1] == "down"),
                       "degraded": sum(1 for s in samples if s[1] == "degraded"),
                       "p50_ms": _percentile(lat, 50), "p95_ms": _percentile(lat, 95)})
    if values:
        db.session.execute(insert_ignore(CheckRollup.__table__).on_conflict_do_nothing(), values)
