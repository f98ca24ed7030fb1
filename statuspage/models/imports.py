"""Where imported objects came from: one row per object of another status page we brought over."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db


class ImportMapping(db.Model):
    """A source object (e.g. a Statuspage incident) and the local object it became.

    ``digest`` is a hash of the source object as last applied: a re-run skips objects whose digest is
    unchanged and updates the others in place, so importing twice never duplicates anything.
    """

    __tablename__ = "import_mapping"
    # source_id leads: a page of subscribers is looked up with source_id IN (…), and the other columns
    # hold one or two values each (PostgreSQL, without statistics on a freshly filled table, otherwise
    # scans every mapping of the kind for each page).
    __table_args__ = (UniqueConstraint("source_id", "kind", "source_page_id", "source"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20), nullable=False)  # statuspage
    source_page_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # group | component | incident | update | template | subscriber
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    source_id: Mapped[str] = mapped_column(String(64), nullable=False)
    local_id: Mapped[str] = mapped_column(String(64), nullable=False)  # slug, public id or row id
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
