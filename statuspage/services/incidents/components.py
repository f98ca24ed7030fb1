"""Components and component groups made outside the config file (the API, an import), and manual status.

The config file (services.config_sync) owns what it lists and archives what it drops; objects made
here carry ``source`` "api" or "import" so a later ``config apply`` leaves them alone. Every function
writes its audit row and bumps the site version when the public page changes, in the transaction of
the change. They commit unless called with ``commit=False`` (the importer joins its own transaction).
Nothing is ever deleted: a deleted component or group is archived, its history kept.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from ...db import utcnow
from ...extensions import db
from ...models import Component, ComponentGroup
from ...models.constants import COMPONENT_STATUSES
from ..audit import Actor, record
from ..page import bump_site_version
from .status import open_initial_interval, set_manual_status

MAX_NAME = 200
MAX_DESCRIPTION = 5_000
SOURCES = ("api", "import")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # "not given", as opposed to None ("clear it")


class ComponentError(ValueError):
    """A request about components or groups that cannot be honoured; ``field`` names the input."""

    def __init__(self, message: str, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.field = field
        self.code = code


def unique_slug(name: str, model: type[Component] | type[ComponentGroup], wanted: str | None = None) -> str:
    """A free slug for a new component or group: ``wanted`` if it is a valid free slug, else from the name."""
    taken = set(db.session.scalars(select(model.slug)))
    if wanted and re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,99}", wanted) and wanted not in taken:
        return wanted
    base = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:60] or "component"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _text(value: Any, field: str, limit: int, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ComponentError(f"{field} is required", field)
        return None
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise ComponentError(f"{field} must be text of 1 to {limit} characters" if required
                             else f"{field} must be text of at most {limit} characters", field)
    return value.strip() if required else value


def _check_status(status: str) -> None:
    if status not in COMPONENT_STATUSES:
        raise ComponentError(f"status must be one of {', '.join(COMPONENT_STATUSES)}", "status")


def _next_position() -> int:
    top = max(db.session.scalar(select(func.max(Component.position))) or 0,
              db.session.scalar(select(func.max(ComponentGroup.position))) or 0)
    return top + 1


def _snapshot(comp: Component) -> dict[str, Any]:
    return {"name": comp.name, "description": comp.description, "group": comp.group.slug if comp.group else None,
            "position": comp.position, "showcase": comp.showcase, "only_show_if_degraded": comp.only_show_if_degraded,
            "start_date": comp.start_date, "status": comp.status}


def _live_group_id(group: ComponentGroup | None) -> int | None:
    if group is None:
        return None
    if group.archived_at is not None:
        raise ComponentError(f"component group {group.slug!r} is deleted", "group_id")
    return group.id


def create_component(*, name: str, actor: Actor, description: str | None = None,
                     group: ComponentGroup | None = None, status: str = "operational", showcase: bool = True,
                     only_show_if_degraded: bool = False, start_date: dt.date | None = None,
                     position: int | None = None, slug: str | None = None, source: str = "api",
                     now: dt.datetime | None = None, commit: bool = True) -> Component:
    """Add a public component (at the end of the page unless ``position`` is given)."""
    now = now or utcnow()
    name = _text(name, "name", MAX_NAME, required=True) or ""
    description = _text(description, "description", MAX_DESCRIPTION)
    _check_status(status)
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    comp = Component(slug=unique_slug(name, Component, slug), name=name, description=description or None,
                     group_id=_live_group_id(group),
                     position=_next_position() if position is None else position, public=True,
                     showcase=bool(showcase), only_show_if_degraded=bool(only_show_if_degraded),
                     auto_incident="off", status="operational", status_source="manual",
                     check_status="operational", start_date=start_date or now.date(), source=source,
                     created_at=now, updated_at=now)
    db.session.add(comp)
    db.session.flush()
    open_initial_interval(comp, now)
    if status != "operational":
        set_manual_status(comp, status, now)
    record(actor, "component.create", "component", comp.slug, after={**_snapshot(comp), "source": source})
    bump_site_version()
    if commit:
        db.session.commit()
    return comp


def update_component(comp: Component, *, actor: Actor, name: Any = UNSET, description: Any = UNSET,
                     group: Any = UNSET, showcase: Any = UNSET, only_show_if_degraded: Any = UNSET,
                     start_date: Any = UNSET, position: Any = UNSET, status: Any = UNSET,
                     now: dt.datetime | None = None, commit: bool = True) -> Component:
    """Change what is given (UNSET leaves a field alone; ``group=None`` takes it out of its group).

    A status given here is a manual status: it holds until the component's checks next change it,
    and an open incident or maintenance on the component still wins (services.status).
    """
    now = now or utcnow()
    if comp.archived_at is not None:
        raise ComponentError(f"component {comp.slug!r} is deleted", "id", code="not_found")
    before = _snapshot(comp)
    if name is not UNSET:
        comp.name = _text(name, "name", MAX_NAME, required=True) or comp.name
    if description is not UNSET:
        comp.description = _text(description, "description", MAX_DESCRIPTION) or None
    if group is not UNSET:
        comp.group_id = _live_group_id(group)
        comp.group = group
    for field, value in (("showcase", showcase), ("only_show_if_degraded", only_show_if_degraded)):
        if value is not UNSET:
            if not isinstance(value, bool):
                raise ComponentError(f"{field} must be true or false", field)
            setattr(comp, field, value)
    if start_date is not UNSET:
        if start_date is not None and not isinstance(start_date, dt.date):
            raise ComponentError("start_date must be a date", "start_date")
        comp.start_date = start_date
    if position is not UNSET:
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 1_000_000:
            raise ComponentError("position must be a whole number from 0", "position")
        comp.position = position
    if status is not UNSET:
        _check_status(status)
        set_manual_status(comp, status, now)
    after = _snapshot(comp)
    if after != before:
        comp.updated_at = now
        record(actor, "component.update", "component", comp.slug, before=before, after=after)
        if comp.public:
            bump_site_version()
    if commit:
        db.session.commit()
    return comp


def set_component_status(comp: Component, status: str, *, actor: Actor, now: dt.datetime | None = None) -> Component:
    """An operator sets a component's status by hand (no incident); audited. Commits."""
    _check_status(status)
    before = comp.status
    set_manual_status(comp, status, now)
    record(actor, "component.manual_status", "component", comp.slug, before={"status": before},
           after={"status": status, "effective": comp.status})
    db.session.commit()
    return comp


def archive_component(comp: Component, *, actor: Actor, now: dt.datetime | None = None,
                      commit: bool = True) -> None:
    """Delete a component from the page: archived (history, uptime and incidents keep it)."""
    if comp.archived_at is not None:
        return
    comp.archived_at = now or utcnow()
    record(actor, "component.archive", "component", comp.slug, before=_snapshot(comp))
    if comp.public:
        bump_site_version()
    if commit:
        db.session.commit()


# --- groups ------------------------------------------------------------------------------------------


def _members(components: Iterable[Component]) -> list[Component]:
    out: list[Component] = []
    for comp in components:
        if comp.archived_at is not None:
            raise ComponentError(f"component {comp.slug!r} is deleted", "components")
        if comp not in out:
            out.append(comp)
    return out


def _group_snapshot(group: ComponentGroup) -> dict[str, Any]:
    return {"name": group.name, "description": group.description, "position": group.position,
            "components": sorted(c.slug for c in group.components if c.archived_at is None)}


def _set_members(group: ComponentGroup, members: list[Component]) -> None:
    wanted = {c.id for c in members}
    for comp in list(group.components):
        if comp.id not in wanted:
            comp.group_id = None
            comp.group = None
    for comp in members:
        comp.group_id = group.id
        comp.group = group


def create_group(*, name: str, actor: Actor, components: Iterable[Component] = (),
                 description: str | None = None, position: int | None = None, slug: str | None = None,
                 source: str = "api", now: dt.datetime | None = None, commit: bool = True) -> ComponentGroup:
    """Add a component group holding ``components`` (moved out of any group they were in)."""
    now = now or utcnow()
    name = _text(name, "name", MAX_NAME, required=True) or ""
    description = _text(description, "description", MAX_DESCRIPTION)
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    members = _members(components)
    group = ComponentGroup(slug=unique_slug(name, ComponentGroup, slug), name=name,
                           description=description or None,
                           position=_next_position() if position is None else position, source=source,
                           created_at=now)
    db.session.add(group)
    db.session.flush()
    _set_members(group, members)
    db.session.flush()
    record(actor, "component_group.create", "component_group", group.slug,
           after={**_group_snapshot(group), "source": source})
    bump_site_version()
    if commit:
        db.session.commit()
    return group


def update_group(group: ComponentGroup, *, actor: Actor, name: Any = UNSET, description: Any = UNSET,
                 components: Any = UNSET, position: Any = UNSET, commit: bool = True) -> ComponentGroup:
    """Rename, describe, reorder or replace the members of a group (UNSET leaves a field alone)."""
    if group.archived_at is not None:
        raise ComponentError(f"component group {group.slug!r} is deleted", "id", code="not_found")
    before = _group_snapshot(group)
    if name is not UNSET:
        group.name = _text(name, "name", MAX_NAME, required=True) or group.name
    if description is not UNSET:
        group.description = _text(description, "description", MAX_DESCRIPTION) or None
    if position is not UNSET:
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 1_000_000:
            raise ComponentError("position must be a whole number from 0", "position")
        group.position = position
    if components is not UNSET:
        _set_members(group, _members(components))
    db.session.flush()
    after = _group_snapshot(group)
    if after != before:
        record(actor, "component_group.update", "component_group", group.slug, before=before, after=after)
        bump_site_version()
    if commit:
        db.session.commit()
    return group


def archive_group(group: ComponentGroup, *, actor: Actor, now: dt.datetime | None = None,
                  commit: bool = True) -> None:
    """Delete a group: archived, its components stay on the page without a group."""
    if group.archived_at is not None:
        return
    before = _group_snapshot(group)
    _set_members(group, [])
    group.archived_at = now or utcnow()
    record(actor, "component_group.archive", "component_group", group.slug, before=before)
    bump_site_version()
    if commit:
        db.session.commit()
