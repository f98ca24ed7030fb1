"""Page settings changed through the API (the config file sets them too: the last one applied wins)."""

from __future__ import annotations

import zoneinfo
from typing import Any
from urllib.parse import urlsplit

from ..db import utcnow
from ..extensions import db
from ..models import Page
from .audit import Actor, record
from .page import bump_site_version, get_page

MAX_NAME = 200


class PageSettingsError(ValueError):
    """A page setting that cannot be accepted; ``field`` names it."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def _check(name: Any, time_zone: Any, url: Any) -> None:
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME):
        raise PageSettingsError(f"name must be text of 1 to {MAX_NAME} characters", "name")
    if time_zone is not None:
        try:
            if not isinstance(time_zone, str) or not time_zone:
                raise ValueError
            zoneinfo.ZoneInfo(time_zone)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise PageSettingsError("time_zone must be an IANA time zone name like Europe/Berlin",
                                    "time_zone") from None
    if url is not None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if (parts is None or parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500
                or any(ch in url for ch in " \r\n\t")):
            raise PageSettingsError("url must be an absolute http(s) URL", "url")


def update_page_settings(*, actor: Actor, name: str | None = None, time_zone: str | None = None,
                         url: str | None = None) -> Page:
    """Rename the page, change its time zone or public URL (None leaves a setting alone). Commits."""
    _check(name, time_zone, url)
    page = get_page()
    before = {"name": page.name, "time_zone": page.time_zone, "url": page.url}
    if name is not None:
        page.name = name.strip()
    if time_zone is not None:
        page.time_zone = time_zone
    if url is not None:
        page.url = url.rstrip("/")
    after = {"name": page.name, "time_zone": page.time_zone, "url": page.url}
    if after != before:
        page.updated_at = utcnow()
        record(actor, "page.update", "page", page.public_id, before=before, after=after)
        bump_site_version()
    db.session.commit()
    return page
