"""Page settings changed through the API (the config file sets them too: the last one applied wins)."""

from __future__ import annotations

import zoneinfo
from typing import Any

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


def _check(name: Any, time_zone: Any) -> None:
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME):
        raise PageSettingsError(f"name must be text of 1 to {MAX_NAME} characters", "name")
    if time_zone is not None:
        try:
            if not isinstance(time_zone, str) or not time_zone or len(time_zone) > 64:
                raise ValueError
            zoneinfo.ZoneInfo(time_zone)
        except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):  # e.g. "Europe" is a directory
            raise PageSettingsError("time_zone must be an IANA time zone name like Europe/Berlin",
                                    "time_zone") from None


def update_page_settings(*, actor: Actor, name: str | None = None, time_zone: str | None = None) -> Page:
    """Rename the page or change its time zone (None leaves a setting alone); audited. Commits."""
    _check(name, time_zone)
    page = get_page()
    before = {"name": page.name, "time_zone": page.time_zone}
    if name is not None:
        page.name = name.strip()
    if time_zone is not None:
        page.time_zone = time_zone
    after = {"name": page.name, "time_zone": page.time_zone}
    if after != before:
        page.updated_at = utcnow()
        record(actor, "page.update", "page", page.public_id, before=before, after=after)
        bump_site_version()
    db.session.commit()
    return page
