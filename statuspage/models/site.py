"""Page settings, the site version counter, idempotency keys and worker heartbeats."""

from __future__ import annotations

import datetime as dt
import secrets
import string
import zoneinfo

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db

_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_page_id() -> str:
    """A page id like Statuspage's (12 characters of [a-z0-9]): stable once given, used as ``page_id``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


class Page(db.Model):
    """The single row of page-wide settings (id is always 1)."""

    __tablename__ = "page"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The page's public id: /api/v2 page.id and the page_id of the Statuspage-compatible API.
    public_id: Mapped[str] = mapped_column(String(32), default=new_page_id)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    name: Mapped[str] = mapped_column(String(200), default="Status")
    url: Mapped[str | None] = mapped_column(String(500))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    on_call: Mapped[str | None] = mapped_column(String(320))
    partial_outage_weight: Mapped[float] = mapped_column(Float, default=0.3)
    degraded_weight: Mapped[float] = mapped_column(Float, default=0.0)
    # Everything else from the config file that has no column of its own (sla ladder, cause taxonomy, ...).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def tz(self) -> dt.tzinfo:
        """The page's time zone (UTC when unset or unknown): every time a person reads is in it."""
        try:
            return zoneinfo.ZoneInfo(self.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return dt.UTC


class SiteVersion(db.Model):
    """Bumped in the same transaction as any publicly visible change; public caches key on it."""

    __tablename__ = "site_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class RateLimitCounter(db.Model):
    """One fixed-window counter of a rate limit (``statuspage/ratelimit.py``), shared by every process."""

    __tablename__ = "rate_limit_counter"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    expires_at: Mapped[float] = mapped_column(Float, nullable=False)  # Unix time; the window ends here


class IdempotencyKey(db.Model):
    """A POST with an Idempotency-Key header answers the same response when retried."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("token_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response_body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WorkerHeartbeat(db.Model):
    """Each scheduler process writes here; the public page says when monitoring data is stale."""

    __tablename__ = "worker_heartbeat"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # host:pid:random
    hostname: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    # The PID namespace the pid lives in (Linux: /proc/self/ns/pid): two containers may share a hostname
    # (host networking) but not a namespace, so "pid gone" is only trusted within the same one.
    pid_namespace: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_checks_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    checks_run: Mapped[int] = mapped_column(Integer, default=0)
    messages_sent: Mapped[int] = mapped_column(Integer, default=0)
    # The check loop's own figures (monitoring.scheduler.SchedulerStats): probes in flight, waiting,
    # start lag p50/p99, saturation, errors by kind — for /metrics, /healthz/monitoring and the console.
    stats: Mapped[dict | None] = mapped_column(JSON)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MonitoringGap(db.Model):
    """A stretch of time when no worker ran checks for longer than the staleness threshold.

    Components with checks were not monitored then: uptime leaves the time out of its denominator and
    says so. Written by the first worker that runs checks again (``services.monitoring_gaps``); a gap
    still going on is derived from the heartbeats at read time.
    """

    __tablename__ = "monitoring_gap"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, unique=True)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
