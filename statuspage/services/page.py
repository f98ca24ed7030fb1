"""The page's settings row and the site version that every public cache keys on.

Every publicly visible change bumps the site version in the same transaction as the change
(:func:`bump_site_version`); after such a commit this process notes it at once
(:func:`local_changes`), so its own next request never serves the page from before its own change,
while other processes see the new version within ``STATUSPAGE_VERSION_CHECK_INTERVAL``.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..extensions import db
from ..models import Page, SiteVersion

DEFAULT_PUBLIC_URL = "http://localhost:8080"


def get_page() -> Page:
    """The page settings row, created with defaults on first use."""
    page = db.session.get(Page, 1)
    if page is None:
        page = Page(id=1, public_id=default_page_id(), name="Status", time_zone="UTC", settings={})
        db.session.add(page)
        db.session.flush()
    return page


def currency() -> str:
    """The currency ARR is kept in (page settings ``currency``, from the config file; USD by default)."""
    return str((get_page().settings or {}).get("currency") or "USD")


def public_base_url(fallback: str | None = None) -> str:
    """Where the public site lives (no trailing slash): ``STATUSPAGE_PUBLIC_URL``, else the page's
    configured URL, else ``fallback`` (a request's host URL), else http://localhost:8080."""
    settings = current_app.extensions["statuspage.settings"]
    if settings.public_url:
        return settings.public_url.rstrip("/")
    page = get_page()
    return (page.url or fallback or DEFAULT_PUBLIC_URL).rstrip("/")
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def default_page_id() -> str:
    """The id a new page row gets: random-looking, derived from SECRET_KEY.

    Derived rather than drawn, so that every request and process agrees on it before the first
    committed write stores the row (a read-only request creates the row without committing it).
    """
    secret = str(current_app.config.get("SECRET_KEY") or "")
    raw = hashlib.blake2b(secret.encode(), key=b"statuspage page id", digest_size=16).digest()
    number = int.from_bytes(raw, "big")
    chars = []
    for _ in range(12):
        number, rest = divmod(number, len(_ID_ALPHABET))
        chars.append(_ID_ALPHABET[rest])
    return "".join(chars)


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


def current_site_version() -> int:
    """One indexed read: the number public caches compare against."""
    version = db.session.execute(select(SiteVersion.version).where(SiteVersion.id == 1)).scalar()
    return int(version or 1)


_local_changes = [0]


def local_changes() -> int:
    """How many commits of this process have bumped the site version (a render cache compares it with
    the count it last saw, to skip its memoised version after this process's own change)."""
    return _local_changes[0]


@event.listens_for(Session, "after_commit")
def _site_changed_here(session: Session) -> None:
    if session.info.pop("site_changed", False):
        _local_changes[0] += 1


@event.listens_for(Session, "after_rollback")
def _site_change_undone(session: Session) -> None:
    session.info.pop("site_changed", None)
