"""Public subscribers (email or webhook) and the components they follow."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, utcnow
from ..extensions import db


class Subscriber(db.Model):
    __tablename__ = "subscriber"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="email", nullable=False)  # email | webhook
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    webhook_url: Mapped[str | None] = mapped_column(String(1000))
    webhook_secret: Mapped[str | None] = mapped_column(String(100))
    webhook_format: Mapped[str] = mapped_column(String(20), default="statuspage")  # statuspage | slack
    all_components: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    quarantined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Bumped to invalidate every link issued so far (tokens carry it).
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    # When the last confirmation or "manage" link was mailed on a public request: at most one per
    # STATUSPAGE_SUBSCRIPTION_MAIL_INTERVAL, so a form cannot be used to flood an address.
    link_mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    components: Mapped[list[SubscriberComponent]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan")

    @property
    def active(self) -> bool:
        return (self.confirmed_at is not None and self.unsubscribed_at is None
                and self.quarantined_at is None)

    @property
    def state(self) -> str:
        """One word for lists and the API: pending | active | unsubscribed | quarantined."""
        if self.unsubscribed_at is not None:
            return "unsubscribed"
        if self.quarantined_at is not None:
            return "quarantined"
        if self.confirmed_at is None:
            return "pending"
        return "active"


class SubscriberComponent(db.Model):
    __tablename__ = "subscriber_component"
    __table_args__ = (UniqueConstraint("subscriber_id", "component_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"), nullable=False)
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"), index=True,
                                              nullable=False)

    subscriber: Mapped[Subscriber] = relationship(back_populates="components")
