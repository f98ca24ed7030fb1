"""Check definitions, raw results and their rollups."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, utcnow
from ..extensions import db


class Check(db.Model):
    """A probe of one endpoint. `spec` is the validated checks.spec.CheckSpec as JSON."""

    # "check" is a reserved word in SQL; a plain name avoids quoting surprises in raw SQL.
    __tablename__ = "check_def"
    __table_args__ = (
        # The claim query of the scheduler: due, active checks in next_run_at order.
        Index("ix_check_due", "next_run_at", "archived_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    target: Mapped[str | None] = mapped_column(String(1000))  # url or host:port, never shown publicly
    spec: Mapped[dict] = mapped_column(JSON, nullable=False)
    interval_seconds: Mapped[float] = mapped_column(Float, nullable=False)
    timeout_seconds: Mapped[float] = mapped_column(Float, nullable=False)
    failure_threshold: Mapped[int] = mapped_column(Integer, default=3)
    success_threshold: Mapped[int] = mapped_column(Integer, default=2)
    on_down: Mapped[str] = mapped_column(String(30), default="major_outage")
    next_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Lease of a claim: a worker that dies holding it is replaced once the lease passes.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="unknown")  # unknown|up|degraded|down
    state: Mapped[dict] = mapped_column(JSON, default=dict)  # checks.state.CheckState as JSON
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    silenced_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[dict | None] = mapped_column(JSON)
    # The current hour's runs, failures and latency histogram, folded in by each run and written out as a
    # CheckRollup row when the hour is over: history without a stored row per probe.
    hour_stats: Mapped[dict | None] = mapped_column(JSON)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    heartbeat_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    last_ping_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Where it is probed from (issue 14): location names; [] means the local worker only. With more
    # than one, ``status`` is the quorum's decision over the per-location states (``CheckLocation``).
    locations: Mapped[list | None] = mapped_column(JSON, default=list)
    quorum: Mapped[int | None] = mapped_column(Integer, default=1)
    on_partial: Mapped[str | None] = mapped_column(String(30), default="none")  # none | degraded_performance
    # Whether the local worker claims and probes it (its own location is one of ``locations``).
    probe_local: Mapped[bool] = mapped_column(Boolean, default=True)
    # Why the status is what it is when locations disagree or are stale (console), e.g.
    # "only 1 of 3 locations fresh (quorum 2): eu-west, us-east have not reported since 10:02".
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Too few fresh locations to decide: the public page says "Monitoring data delayed".
    monitoring_delayed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Failures seen from fewer locations than the quorum: [{location, status, since, message}].
    partial_failures: Mapped[list | None] = mapped_column(JSON)

    component: Mapped[Component] = relationship(back_populates="checks")  # noqa: F821


class CheckLocation(db.Model):
    """One check as seen from one location: its own flap-proof state, last result and latency.

    ``last_slot`` is the newest slot applied: a result for a slot not newer than it (a replay, a
    retry) is a duplicate and counts nothing.
    """

    __tablename__ = "check_location"
    __table_args__ = (UniqueConstraint("check_id", "location"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("check_def.id", ondelete="CASCADE"), nullable=False)
    location: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(20), default="unknown")  # unknown|up|degraded|down
    status_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    last_slot: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[dict | None] = mapped_column(JSON)
    # Recent latencies in ms (newest last, bounded): the check page's per-location p50/p95.
    recent_latency: Mapped[list | None] = mapped_column(JSON)


class ProbeLocation(db.Model):
    """A place checks are probed from: the local worker's own, or a remote probe agent's."""

    __tablename__ = "probe_location"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    stale_after_seconds: Mapped[float | None] = mapped_column(Float)  # None: STATUSPAGE_PROBE_STALE_AFTER
    last_report_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    agent_version: Mapped[str | None] = mapped_column(String(50))
    agent_host: Mapped[str | None] = mapped_column(String(200))
    agent_address: Mapped[str | None] = mapped_column(String(64))
    buffer_depth: Mapped[int | None] = mapped_column(Integer)
    oldest_buffered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dropped: Mapped[int | None] = mapped_column(Integer)
    # Lag of the last batch: how old its oldest result was when it arrived.
    last_lag_seconds: Mapped[float | None] = mapped_column(Float)
    results_received: Mapped[int] = mapped_column(Integer, default=0)
    stale_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CheckResult(db.Model):
    """One run of a check for one scheduled slot; (check, slot) is unique so no slot runs twice.

    Only runs that matter later are stored: every run that was not up, and the run after one (the
    recovery), plus a check's first run. Steady "up" runs live on as the check's ``last_result`` and
    in its hourly rollup (``Check.hour_stats``, then ``CheckRollup``).
    """

    __tablename__ = "check_result"
    __table_args__ = (
        UniqueConstraint("check_id", "scheduled_for", "location"),
        Index("ix_check_result_started", "started_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("check_def.id", ondelete="CASCADE"), nullable=False)
    scheduled_for: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    worker_id: Mapped[str | None] = mapped_column(String(100))
    # Where it was probed from: (check, slot, location) is the key, so a replayed result never counts twice.
    location: Mapped[str] = mapped_column(String(64), nullable=False, default="local", server_default="local")
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)  # up | degraded | down
    latency_ms: Mapped[float | None] = mapped_column(Float)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error_class: Mapped[str | None] = mapped_column(String(30))
    message: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[list | None] = mapped_column(JSON)


class CheckRollup(db.Model):
    """Per check per hour/day: runs, failures, latency percentiles — history outlives raw results."""

    __tablename__ = "check_rollup"
    __table_args__ = (UniqueConstraint("check_id", "period", "period_start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("check_def.id", ondelete="CASCADE"), nullable=False)
    period: Mapped[str] = mapped_column(String(5), nullable=False)  # hour | day
    period_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    degraded: Mapped[int] = mapped_column(Integer, default=0)
    p50_ms: Mapped[float | None] = mapped_column(Float)
    p95_ms: Mapped[float | None] = mapped_column(Float)
    p99_ms: Mapped[float | None] = mapped_column(Float)
    # Latency histogram {bucket: count} (see monitoring.rollups.latency_bucket): hours merge into days.
    latency_hist: Mapped[dict | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
