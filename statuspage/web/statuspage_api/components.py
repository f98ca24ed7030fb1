"""``/pages/{page_id}/components`` and ``/component-groups``: CRUD and status, through services.components.

Only public components exist here (Statuspage has no internal ones); a deleted component or group is
archived, so its history, uptime and incidents stay.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy import select

from ...extensions import db
from ...models import Component, ComponentGroup
from ...models.constants import COMPONENT_STATUSES
from ...services.incidents import components as svc
from ...services.page import get_page
from ..authz import current_actor
from .core import StatuspageError, created, no_content, query_int, route
from .forms import Fields, request_body
from .serializers import Positions, component_json, group_as_component_json, group_json

COMPONENT_FIELDS = ("name", "description", "status", "group_id", "showcase", "only_show_if_degraded",
                    "start_date")
PAGING = ("page", "per_page")


def find_component(slug: str) -> Component:
    comp = db.session.scalar(select(Component).where(Component.slug == slug, Component.archived_at.is_(None),
                                                     Component.public.is_(True)))
    if comp is None:
        raise StatuspageError(404, f"no component {slug!r}")
    return comp


def find_components(ids: list[str], field: str) -> list[Component]:
    found = {c.slug: c for c in db.session.scalars(select(Component).where(
        Component.slug.in_(ids), Component.archived_at.is_(None), Component.public.is_(True)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise StatuspageError(422, f"{field}: unknown component {missing[0]!r}")
    return [found[i] for i in dict.fromkeys(ids)]


def find_group(slug: str, *, status: int = 404, field: str = "id") -> ComponentGroup:
    group = db.session.scalar(select(ComponentGroup).where(ComponentGroup.slug == slug,
                                                           ComponentGroup.archived_at.is_(None)))
    if group is None:
        raise StatuspageError(status, f"{field}: no component group {slug!r}" if status == 422
                              else f"no component group {slug!r}")
    return group


def _slice(items: list[Any]) -> list[Any]:
    per_page = query_int("per_page", 100, 1, 1100)
    page = query_int("page", 1, 1, 1_000_000)
    return items[(page - 1) * per_page: page * per_page]


# --- components --------------------------------------------------------------------------------------


@route("/pages/<spid:page_id>/components", query=PAGING)
def components_list():
    page_id = get_page().public_id
    positions = Positions()
    comps = db.session.scalars(select(Component).where(Component.archived_at.is_(None),
                                                       Component.public.is_(True))).all()
    groups = [g for g in db.session.scalars(select(ComponentGroup).where(ComponentGroup.archived_at.is_(None)))
              if g.id in positions.groups]
    items = [(positions.of_component(c), component_json(c, positions, page_id)) for c in comps]
    items += [(positions.of_group(g), group_as_component_json(g, positions, page_id)) for g in groups]
    return jsonify([item for _, item in _slice(sorted(items, key=lambda pair: pair[0]))])


def _component_values(f: Fields) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if f.has("name"):
        values["name"] = f.text("name", max_len=svc.MAX_NAME, required=True)
    if f.has("description"):
        values["description"] = f.text("description", max_len=svc.MAX_DESCRIPTION) or None
    if f.has("status"):
        status = f.text("status", max_len=30)
        if status not in (*COMPONENT_STATUSES, ""):
            raise StatuspageError(422, f"component[status] must be one of {', '.join(COMPONENT_STATUSES)}")
        if status:
            values["status"] = status
    if f.has("group_id"):
        group_id = f.text("group_id", max_len=100)
        values["group"] = None if group_id in (None, "", "null") else find_group(group_id, status=422,
                                                                                   field="component[group_id]")
    for key in ("showcase", "only_show_if_degraded"):
        if f.has(key) and f.boolean(key) is not None:
            values[key] = f.boolean(key)
    if f.has("start_date"):
        values["start_date"] = f.date("start_date")
    return values


@route("/pages/<spid:page_id>/components", methods=("POST",), scope="write")
def component_create():
    f = Fields.envelope(request_body(), "component", known=COMPONENT_FIELDS)
    values = _component_values(f)
    if not values.get("name"):
        raise StatuspageError(422, "component[name] can't be blank")
    comp = svc.create_component(actor=current_actor(), **values)
    return created(component_json(comp, Positions()))


@route("/pages/<spid:page_id>/components/<spid:component_id>")
def component_get(component_id: str):
    return jsonify(component_json(find_component(component_id), Positions()))


@route("/pages/<spid:page_id>/components/<spid:component_id>", methods=("PATCH", "PUT"), scope="write")
def component_update(component_id: str):
    comp = find_component(component_id)
    f = Fields.envelope(request_body(), "component", known=COMPONENT_FIELDS)
    svc.update_component(comp, actor=current_actor(), **_component_values(f))
    return jsonify(component_json(comp, Positions()))


@route("/pages/<spid:page_id>/components/<spid:component_id>", methods=("DELETE",), scope="write")
def component_delete(component_id: str):
    svc.archive_component(find_component(component_id), actor=current_actor())
    return no_content()


# --- component groups --------------------------------------------------------------------------------


def _group_fields(body: dict[str, Any]) -> tuple[Fields, str | None, bool]:
    """The component_group[...] fields, and the description that Statuspage sends beside them."""
    f = Fields.envelope(body, "component_group", known=("components", "name", "description"),
                        siblings=("description",))
    outer = Fields(body, "", known=("component_group", "description"))
    has_description = outer.has("description") or f.has("description")
    description = (outer.text("description", max_len=svc.MAX_DESCRIPTION) if outer.has("description")
                   else f.text("description", max_len=svc.MAX_DESCRIPTION))
    return f, description, has_description


@route("/pages/<spid:page_id>/component-groups", query=PAGING)
def groups_list():
    positions = Positions()
    groups = db.session.scalars(select(ComponentGroup).where(ComponentGroup.archived_at.is_(None))).all()
    ordered = sorted(groups, key=lambda g: (positions.of_group(g), g.position, g.id))
    page_id = get_page().public_id
    return jsonify([group_json(g, positions, page_id) for g in _slice(ordered)])


@route("/pages/<spid:page_id>/component-groups", methods=("POST",), scope="write")
def group_create():
    f, description, _ = _group_fields(request_body())
    name = f.text("name", max_len=svc.MAX_NAME, required=True) or ""
    ids = f.id_list("components")
    if not ids:
        raise StatuspageError(422, "component_group[components] must list at least one component")
    group = svc.create_group(name=name, description=description, components=find_components(
        ids, "component_group[components]"), actor=current_actor())
    return created(group_json(group, Positions()))


@route("/pages/<spid:page_id>/component-groups/<spid:group_id>")
def group_get(group_id: str):
    return jsonify(group_json(find_group(group_id), Positions()))


@route("/pages/<spid:page_id>/component-groups/<spid:group_id>", methods=("PATCH", "PUT"), scope="write")
def group_update(group_id: str):
    group = find_group(group_id)
    f, description, has_description = _group_fields(request_body())
    values: dict[str, Any] = {}
    if f.has("name"):
        values["name"] = f.text("name", max_len=svc.MAX_NAME, required=True)
    if has_description:
        values["description"] = description
    if f.has("components"):
        ids = f.id_list("components") or []
        if not ids:
            raise StatuspageError(422, "a component group cannot be empty: delete it instead")
        values["components"] = find_components(ids, "component_group[components]")
    svc.update_group(group, actor=current_actor(), **values)
    return jsonify(group_json(group, Positions()))


@route("/pages/<spid:page_id>/component-groups/<spid:group_id>", methods=("DELETE",), scope="write")
def group_delete(group_id: str):
    group = find_group(group_id)
    body = group_json(group, Positions())
    svc.archive_group(group, actor=current_actor())
    return jsonify(body)
