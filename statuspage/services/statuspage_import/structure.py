"""Import the page's structure: component groups, components (order, descriptions, showcase,
only-show-if-degraded, start date), incident templates and, last, the components' current statuses.

Objects are made through services.components and services.incidents' templates (never committing:
the run commits per phase) with ``source="import"``, so a later ``config apply`` leaves them alone.
Source ids are kept as local ids where they are free, so links and API clients keep working.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from ...extensions import db
from ...models import Component, ComponentGroup, UpdateTemplate
from ..audit import Actor
from ..incidents import components as comp_svc
from ..incidents import lifecycle as incident_svc
from ..incidents import templates as templates_svc
from .mapping import ImportReport, Mappings, digest
from .payloads import SourceComponent, SourceGroup, SourceTemplate


@dataclasses.dataclass(frozen=True)
class Placed:
    """A group or component with the position it gets here (display order, groups before their members)."""

    kind: str  # group | component
    source: SourceGroup | SourceComponent
    position: int
    group_id: str | None = None  # the source group of a component


def display_order(groups: list[SourceGroup], components: list[SourceComponent]) -> list[Placed]:
    """The page top to bottom: groups and ungrouped components by position, each group's members after it.

    Statuspage numbers positions within a group, our compat API across the page; both give this order.
    """
    by_id = {g.id: g for g in groups}
    for comp in components:  # a group only seen in the components list (group: true)
        if comp.is_group and comp.id not in by_id:
            by_id[comp.id] = SourceGroup(id=comp.id, name=comp.name, description=comp.description,
                                         position=comp.position, components=comp.children,
                                         created_at=comp.created_at)
    members: dict[str, list[SourceComponent]] = {gid: [] for gid in by_id}
    member_of = {cid: gid for gid, g in by_id.items() for cid in g.components}
    top: list[SourceGroup | SourceComponent] = list(by_id.values())
    for comp in components:
        if comp.is_group:
            continue
        gid = comp.group_id if comp.group_id in by_id else member_of.get(comp.id)
        if gid is None:
            top.append(comp)
        else:
            members[gid].append(comp)
    out: list[Placed] = []
    for item in sorted(top, key=lambda x: (x.position, x.name, x.id)):
        if isinstance(item, SourceGroup):
            out.append(Placed("group", item, len(out)))
            for comp in sorted(members[item.id], key=lambda c: (c.position, c.name, c.id)):
                out.append(Placed("component", comp, len(out), item.id))
        else:
            out.append(Placed("component", item, len(out)))
    return out


def _description(src: SourceGroup | SourceComponent) -> str | None:
    return src.description[:comp_svc.MAX_DESCRIPTION] if src.description else None


def apply_structure(placed: list[Placed], maps: Mappings, report: ImportReport, *, actor: Actor,
                    now: dt.datetime) -> dict[str, Component]:
    """Create or update groups and components; return {source component id: local component}."""
    groups: dict[str, ComponentGroup] = {}
    for item in (p for p in placed if p.kind == "group"):
        src = item.source
        assert isinstance(src, SourceGroup)
        key = digest({"name": src.name, "description": src.description, "position": item.position,
                      "created": src.created_at})
        row = maps.get("group", src.id)
        group = db.session.scalar(select(ComponentGroup).where(ComponentGroup.slug == row.local_id)) if row else None
        if row is not None and group is None:
            report["group"].note("skipped", f"{src.name} (deleted here)")
            continue
        if group is None:
            group = comp_svc.create_group(name=src.name, description=_description(src), position=item.position,
                                          slug=src.id, source="import", actor=actor, now=now, commit=False)
            group.created_at = min(src.created_at or now, now)
            report["group"].note("created", src.name)
        elif group.archived_at is not None:
            report["group"].note("skipped", f"{src.name} (deleted here)")
            continue
        elif row is not None and row.digest != key:
            comp_svc.update_group(group, name=src.name, description=_description(src), position=item.position,
                                  actor=actor, commit=False)
            report["group"].note("updated", src.name)
        else:
            report["group"].note("unchanged", src.name)
        maps.put("group", src.id, group.slug, key, now, row)
        groups[src.id] = group

    out: dict[str, Component] = {}
    for item in (p for p in placed if p.kind == "component"):
        src = item.source
        assert isinstance(src, SourceComponent)
        group = groups.get(item.group_id) if item.group_id else None
        key = digest({"name": src.name, "description": src.description, "position": item.position,
                      "group": item.group_id, "showcase": src.showcase, "only": src.only_show_if_degraded,
                      "start": src.start_date, "created": src.created_at})
        row = maps.get("component", src.id)
        comp = db.session.scalar(select(Component).where(Component.slug == row.local_id)) if row else None
        if (row is not None and comp is None) or (comp is not None and comp.archived_at is not None):
            report["component"].note("skipped", f"{src.name} (deleted here)")
            continue
        if comp is None:
            created = src.created_at or now
            comp = comp_svc.create_component(
                name=src.name, description=_description(src), group=group, showcase=src.showcase,
                only_show_if_degraded=src.only_show_if_degraded, start_date=src.start_date or created.date(),
                position=item.position, slug=src.id, source="import", actor=actor, now=now, commit=False)
            comp.created_at = min(created, now)
            report["component"].note("created", src.name)
        elif row is not None and row.digest != key:
            comp_svc.update_component(comp, name=src.name, description=_description(src), group=group,
                                      showcase=src.showcase, only_show_if_degraded=src.only_show_if_degraded,
                                      start_date=src.start_date or comp.start_date, position=item.position,
                                      actor=actor, now=now, commit=False)
            report["component"].note("updated", src.name)
        else:
            report["component"].note("unchanged", src.name)
        maps.put("component", src.id, comp.slug, key, now, row)
        out[src.id] = comp
    db.session.flush()
    return out


def known_components(maps: Mappings) -> dict[str, Component]:
    """{source component id: local component} of every component imported so far (archived included)."""
    rows = maps.all("component")
    by_slug = {c.slug: c for c in db.session.scalars(select(Component).where(
        Component.slug.in_([r.local_id for r in rows.values()])))} if rows else {}
    return {sid: by_slug[r.local_id] for sid, r in rows.items() if r.local_id in by_slug}


def apply_component_statuses(components: list[SourceComponent], local: dict[str, Component], report: ImportReport,
                             *, actor: Actor, now: dt.datetime) -> None:
    """Give each component the status it has on the source, unless an incident or maintenance sets it here."""
    for src in components:
        comp = local.get(src.id)
        if src.is_group or comp is None or comp.archived_at is not None:
            continue
        if comp.status_source in ("incident", "maintenance") or comp.status == src.status:
            report["component status"].note("unchanged", comp.slug)
            continue
        comp_svc.update_component(comp, status=src.status, actor=actor, now=now, commit=False)
        report["component status"].note("updated", f"{comp.slug}: {src.status}")


def apply_templates(templates: list[SourceTemplate], maps: Mappings, report: ImportReport, *, actor: Actor,
                    now: dt.datetime) -> None:
    """Create or update incident templates (a name taken here gets " (imported)")."""
    for src in templates:
        key = digest(src)
        row = maps.get("template", src.id)
        template = db.session.get(UpdateTemplate, int(row.local_id)) if row and row.local_id.isdigit() else None
        if row is not None and template is None:
            report["template"].note("skipped", f"{src.name} (deleted here)")
            continue
        if template is not None and row is not None and row.digest == key:
            report["template"].note("unchanged", src.name)
            continue
        name = src.name
        clash = db.session.scalar(select(UpdateTemplate).where(UpdateTemplate.name == name))
        if clash is not None and clash is not template:
            name = f"{src.name[:185]} (imported)"
        template_row = templates_svc.save_template(name=name, body=src.body[:incident_svc.MAX_BODY],
                                                  status=src.update_status, title=src.title, actor=actor,
                                                  template=template, commit=False)
        report["template"].note("updated" if template is not None else "created", src.name)
        maps.put("template", src.id, str(template_row.id), key, now, row)
