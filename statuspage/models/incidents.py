"""Incidents and scheduled maintenance (one table, like Statuspage), their updates and postmortems."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, utcnow
from ..extensions import db
from .constants import ACTIVE_MAINTENANCE_STATUSES, OPEN_STATUSES


class Incident(db.Model):
    """An incident (kind=incident) or a scheduled maintenance (kind=maintenance).

    A draft (published_at is NULL) is visible only in the console: auto-incidents held for a human.
    """

    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_public_list", "kind", "published_at", "created_at"),
        Index("ix_incident_open", "kind", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), default="incident", nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    impact: Mapped[str] = mapped_column(String(20), default="none", nullable=False)
    impact_override: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20), default="manual")  # manual | auto | api
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    cause_category: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Key timestamps, defaulted from events and editable by responders.
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    detected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    mitigated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Scheduled maintenance window.
    scheduled_for: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    scheduled_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    auto_transition: Mapped[bool] = mapped_column(Boolean, default=True)
    reminder_minutes: Mapped[int | None] = mapped_column(Integer, default=60)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    components: Mapped[list[IncidentComponent]] = relationship(
        back_populates="incident", cascade="all, delete-orphan")
    updates: Mapped[list[IncidentUpdate]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", order_by="IncidentUpdate.created_at.desc()")
    postmortem: Mapped[Postmortem | None] = relationship(back_populates="incident", uselist=False)

    @property
    def is_draft(self) -> bool:
        return self.published_at is None

    @property
    def is_open(self) -> bool:
        """An incident until resolved; a maintenance until completed or cancelled."""
        return self.status in OPEN_STATUSES.get(self.kind, ())

    @property
    def is_active_maintenance(self) -> bool:
        """A maintenance in progress or verifying: its components are under maintenance."""
        return self.kind == "maintenance" and self.status in ACTIVE_MAINTENANCE_STATUSES

    @property
    def effective_impact(self) -> str:
        return self.impact_override or self.impact


class IncidentComponent(db.Model):
    """A component an incident affects, with the status the incident currently sets on it."""

    __tablename__ = "incident_component"
    __table_args__ = (UniqueConstraint("incident_id", "component_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), nullable=False)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id"), index=True, nullable=False)
    status: Mapped[str] = mapped_column(String(30), nullable=False)

    incident: Mapped[Incident] = relationship(back_populates="components")
    component: Mapped[Component] = relationship()  # noqa: F821


class IncidentUpdate(db.Model):
    __tablename__ = "incident_update"
    __table_args__ = (Index("ix_incident_update_incident", "incident_id", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    body: Mapped[str] = mapped_column(Text, default="")
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)  # internal note: never public
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    display_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    author_label: Mapped[str | None] = mapped_column(String(200))

    incident: Mapped[Incident] = relationship(back_populates="updates")
    component_changes: Mapped[list[IncidentUpdateComponent]] = relationship(
        back_populates="update", cascade="all, delete-orphan")


class IncidentUpdateComponent(db.Model):
    """Per update and component: the status before and after that update."""

    __tablename__ = "incident_update_component"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("incident_update.id", ondelete="CASCADE"),
                                           index=True, nullable=False)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id"), nullable=False)
    old_status: Mapped[str | None] = mapped_column(String(30))
    new_status: Mapped[str] = mapped_column(String(30), nullable=False)

    update: Mapped[IncidentUpdate] = relationship(back_populates="component_changes")
    component: Mapped[Component] = relationship()  # noqa: F821


class IncidentCheck(db.Model):
    """Checks that triggered an auto-incident, with their resolved conditions at the time."""

    __tablename__ = "incident_check"
    __table_args__ = (UniqueConstraint("incident_id", "check_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), nullable=False)
    check_id: Mapped[int] = mapped_column(ForeignKey("check_def.id", ondelete="CASCADE"), index=True,
                                          nullable=False)
    result: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Postmortem(db.Model):
    """Structured postmortem; `sections` is a list of {key, title, body, public}."""

    __tablename__ = "postmortem"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), unique=True,
                                             nullable=False)
    sections: Mapped[list] = mapped_column(JSON, default=list)
    cause_category: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    incident: Mapped[Incident] = relationship(back_populates="postmortem")
    action_items: Mapped[list[ActionItem]] = relationship(
        back_populates="postmortem", cascade="all, delete-orphan", order_by="ActionItem.id")


class ActionItem(db.Model):
    __tablename__ = "action_item"
    __table_args__ = (Index("ix_action_item_open_due", "status", "due_date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    postmortem_id: Mapped[int] = mapped_column(ForeignKey("postmortem.id", ondelete="CASCADE"), nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    owner: Mapped[str | None] = mapped_column(String(320))
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | in_progress | done | wont_do
    link: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    postmortem: Mapped[Postmortem] = relationship(back_populates="action_items")


class UpdateTemplate(db.Model):
    """Reusable incident update text ("We are investigating elevated error rates on ...")."""

    __tablename__ = "update_template"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    status: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
