"""The public trust page."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Component, ComponentGroup
from ..services.site import get_page
from ..services.status import worst

bp = Blueprint("public", __name__)

OVERALL = {
    "operational": ("none", "All Systems Operational"),
    "degraded_performance": ("minor", "Minor Service Outage"),
    "partial_outage": ("major", "Partial System Outage"),
    "major_outage": ("critical", "Major System Outage"),
    "under_maintenance": ("maintenance", "Service Under Maintenance"),
}


def public_components() -> list[Component]:
    return list(db.session.scalars(
        select(Component).where(Component.public.is_(True), Component.archived_at.is_(None))
        .options(selectinload(Component.group)).order_by(Component.position)))


def grouped(components: list[Component]) -> list[tuple[ComponentGroup | None, list[Component]]]:
    """Components in display order, grouped; ungrouped components stand alone in order."""
    out: list[tuple[ComponentGroup | None, list[Component]]] = []
    index: dict[int, int] = {}
    for comp in components:
        group = comp.group if comp.group is not None and comp.group.archived_at is None else None
        if group is None:
            out.append((None, [comp]))
        elif group.id in index:
            out[index[group.id]][1].append(comp)
        else:
            index[group.id] = len(out)
            out.append((group, [comp]))
    out.sort(key=lambda item: item[0].position if item[0] is not None else item[1][0].position)
    return out


@bp.get("/")
def index():
    page = get_page()
    components = public_components()
    overall = worst(c.status for c in components)
    indicator, description = OVERALL[overall]
    return render_template("public/index.html", page=page, groups=grouped(components),
                           overall=overall, indicator=indicator, description=description)
