"""The notification outbox: one row per recipient, written in the transaction of its event."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (
        # The delivery worker's claim query: pending rows whose next attempt is due.
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # e.g. "incident:42:update:7:subscriber:1234" — insert-or-ignore makes enqueueing idempotent.
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True, nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)  # email | webhook
    kind: Mapped[str] = mapped_column(String(50), nullable=False)  # incident_update, confirm, digest, ...
    audience: Mapped[str] = mapped_column(String(20), default="subscriber")  # subscriber|contact|team|oncall
    recipient: Mapped[str] = mapped_column(String(1000), nullable=False)  # address or URL
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscriber.id", ondelete="SET NULL"),
                                                      index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"), index=True)
    update_id: Mapped[int | None] = mapped_column(ForeignKey("incident_update.id", ondelete="SET NULL"))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
