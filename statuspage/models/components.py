"""Component groups, components and their status history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, utcnow
from ..extensions import db


class ComponentGroup(db.Model):
    __tablename__ = "component_group"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Who owns it: config (the config file, which archives what it no longer lists) | api | import.
    source: Mapped[str] = mapped_column(String(20), default="config", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    components: Mapped[list[Component]] = relationship(back_populates="group", order_by="Component.position")


class Component(db.Model):
    __tablename__ = "component"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("component_group.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    showcase: Mapped[bool] = mapped_column(Boolean, default=True)
    only_show_if_degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_incident: Mapped[str] = mapped_column(String(10), default="draft")  # off | draft | publish
    auto_resolve_after: Mapped[int | None] = mapped_column(Integer)  # seconds of quiet before auto-resolve
    # Current status and what set it (check | incident | maintenance | manual): denormalised from the
    # open ComponentStatusInterval for one-row reads on the public page.
    status: Mapped[str] = mapped_column(String(30), default="operational", nullable=False)
    status_source: Mapped[str] = mapped_column(String(20), default="check", nullable=False)
    # What the checks alone say; an incident or maintenance may override `status` for a while.
    check_status: Mapped[str] = mapped_column(String(30), default="operational", nullable=False)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    # Who owns it: config (the config file, which archives what it no longer lists) | api | import.
    source: Mapped[str] = mapped_column(String(20), default="config", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[ComponentGroup | None] = relationship(back_populates="components")
    checks: Mapped[list[Check]] = relationship(back_populates="component")  # noqa: F821


class ComponentStatusInterval(db.Model):
    """Every status change of a component is a row: [started_at, ended_at) with its cause."""

    __tablename__ = "component_status_interval"
    __table_args__ = (
        Index("ix_csi_component_started", "component_id", "started_at"),
        Index("ix_csi_component_open", "component_id", "ended_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(30), nullable=False)
    source: Mapped[str] = mapped_column(String(20), nullable=False)  # check | incident | maintenance | manual
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"), index=True)
    check_id: Mapped[int | None] = mapped_column(ForeignKey("check_def.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    component: Mapped[Component] = relationship()


class ComponentUptimeDay(db.Model):
    """Daily rollup of a component's monitored time (seconds per status) in one local day of the page's
    time zone (``time_zone``: rows of another zone are stale and never read)."""

    __tablename__ = "component_uptime_day"
    __table_args__ = (UniqueConstraint("component_id", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"), nullable=False)
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    major_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    partial_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    degraded_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    maintenance_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    tracked_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    worst_status: Mapped[str] = mapped_column(String(30), default="operational")
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ComponentMonitoringDelay(db.Model):
    """A stretch of time when a component's status could not be decided: one of its active checks probed
    from several locations had too few fresh locations for its quorum (``Check.monitoring_delayed``).

    The component was not monitored then, exactly as in a monitoring gap: uptime leaves the time out of
    its denominator and says so. ``ended_at`` is NULL while the delay goes on (read as "until now").
    Opened and closed by ``services.monitoring.locations.decide_checks`` in the transaction that flips
    the flag (``services.monitoring_gaps.sync_component_delays``).
    """

    __tablename__ = "component_monitoring_delay"
    __table_args__ = (UniqueConstraint("component_id", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"), nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
