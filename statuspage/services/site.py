"""Page settings and the site version that every public cache keys on."""

from __future__ import annotations

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..extensions import db
from ..models import Page, SiteVersion


def get_page() -> Page:
    """The page settings row, created with defaults on first use."""
    page = db.session.get(Page, 1)
    if page is None:
        page = Page(id=1, name="Status", time_zone="UTC", settings={})
        db.session.add(page)
        db.session.flush()
    return page


def bump_site_version() -> None:
    """Mark the public site as changed; call inside the transaction that makes the change."""
    result = db.session.execute(
        update(SiteVersion).where(SiteVersion.id == 1)
        .values(version=SiteVersion.version + 1, changed_at=utcnow())
    )
    if result.rowcount == 0:
        db.session.add(SiteVersion(id=1, version=2, changed_at=utcnow()))
        db.session.flush()
    db.session.info["site_changed"] = True


@event.listens_for(Session, "after_commit")
def _site_changed_here(session: Session) -> None:
    # This process's memoised site version is stale at once; other processes see it within
    # STATUSPAGE_VERSION_CHECK_INTERVAL.
    if session.info.pop("site_changed", False):
        from ..web.public_cache import note_local_change

        note_local_change()


@event.listens_for(Session, "after_rollback")
def _site_change_undone(session: Session) -> None:
    session.info.pop("site_changed", None)


def current_site_version() -> int:
    """One indexed read: the number public caches compare against."""
    version = db.session.execute(select(SiteVersion.version).where(SiteVersion.id == 1)).scalar()
    return int(version or 1)
