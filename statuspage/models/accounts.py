"""Customer accounts: who an outage hurts, who to tell, and what the SLA promises."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, utcnow
from ..extensions import db


class Account(db.Model):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)  # the CRM id
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    arr: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    tier: Mapped[str | None] = mapped_column(String(50))
    renewal_date: Mapped[dt.date | None] = mapped_column(Date)
    sla_target: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))  # percent, e.g. 99.9
    owner_email: Mapped[str | None] = mapped_column(String(320), index=True)
    # Probe locations the account is served from: failures seen there reach its view even below quorum.
    locations: Mapped[list | None] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(20), default="config")  # config | import | api
    # Bumped to revoke the account's private status link.
    view_token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    components: Mapped[list[AccountComponent]] = relationship(
        back_populates="account", cascade="all, delete-orphan")
    contacts: Mapped[list[AccountContact]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="AccountContact.id")
    team: Mapped[list[AccountTeamMember]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="AccountTeamMember.id")


class AccountComponent(db.Model):
    __tablename__ = "account_component"
    __table_args__ = (UniqueConstraint("account_id", "component_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), nullable=False)
    # Indexed by component: "which accounts use the components of this incident" is the hot query.
    component_id: Mapped[int] = mapped_column(ForeignKey("component.id", ondelete="CASCADE"), index=True,
                                              nullable=False)

    account: Mapped[Account] = relationship(back_populates="components")
    component: Mapped[Component] = relationship()  # noqa: F821


class AccountContact(db.Model):
    """A person at the customer who gets the customer-facing email."""

    __tablename__ = "account_contact"
    __table_args__ = (UniqueConstraint("account_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    notify: Mapped[str] = mapped_column(String(10), default="all")  # all | major | none

    account: Mapped[Account] = relationship(back_populates="contacts")


class AccountTeamMember(db.Model):
    """Someone at our company who looks after the account (CSM, solutions engineer...)."""

    __tablename__ = "account_team_member"
    __table_args__ = (UniqueConstraint("account_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), nullable=False)
    email: Mapped[str] = mapped_column(String(320), index=True, nullable=False)

    account: Mapped[Account] = relationship(back_populates="team")


class AccountWatch(db.Model):
    """An account manager's console subscription: one account, or all their accounts (account_id NULL)."""

    __tablename__ = "account_watch"
    __table_args__ = (UniqueConstraint("user_id", "account_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    all_owned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountOutreach(db.Model):
    """Per incident and account: contacted / RCA sent / acknowledged, and by whom."""

    __tablename__ = "account_outreach"
    __table_args__ = (UniqueConstraint("incident_id", "account_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), nullable=False)
    contacted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rca_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(1000))
    updated_by: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
