"""/api/v1 components, component groups and checks: read them, set a status by hand, silence a check."""

from __future__ import annotations

import datetime as dt

from flask import jsonify
from sqlalchemy import select

from ....db import utcnow
from ....extensions import db
from ....models import Check, Component, ComponentGroup
from ....models.constants import COMPONENT_STATUSES
from ....services.incidents.components import set_component_status
from ....services.monitoring.location_report import check_location_summaries
from ....services.monitoring.rollups import latency_24h
from ....services.monitoring.silence import silence_check
from ...authz import api_auth, current_actor
from ..toolkit import PAGE_PARAMS, ApiError, RequestFields, accepts_query, json_body, paged_array
from .blueprint import bp
from .serializers import check_json, check_location_json, component_json, group_json

MAX_SILENCE_MINUTES = 43_200  # 30 days, as the service allows


def find_component(slug: str) -> Component:
    """A live component by slug, or 404."""
    comp = db.session.scalar(select(Component).where(Component.slug == slug, Component.archived_at.is_(None)))
    if comp is None:
        raise ApiError.not_found(f"no component {slug!r}")
    return comp


def _check(slug: str) -> Check:
    check = db.session.scalar(select(Check).where(Check.slug == slug, Check.archived_at.is_(None)))
    if check is None:
        raise ApiError.not_found(f"no check {slug!r}")
    return check


@bp.get("/components")
@api_auth("read")
@accepts_query(*PAGE_PARAMS)
def components():
    return paged_array(select(Component).where(Component.archived_at.is_(None))
                       .order_by(Component.position, Component.id), component_json)


@bp.get("/components/<slug>")
@api_auth("read")
def component(slug: str):
    return jsonify(component_json(find_component(slug)))


@bp.patch("/components/<slug>")
@api_auth("write")
def component_patch(slug: str):
    comp = find_component(slug)
    f = RequestFields(json_body("component"), "component", allowed={"status"})
    status = f.choice("status", COMPONENT_STATUSES, required=True)
    f.done()
    set_component_status(comp, status or "", actor=current_actor())
    return jsonify(component_json(comp))


@bp.get("/component-groups")
@api_auth("read")
@accepts_query(*PAGE_PARAMS)
def groups():
    return paged_array(select(ComponentGroup).where(ComponentGroup.archived_at.is_(None))
                       .order_by(ComponentGroup.position, ComponentGroup.id), group_json)


@bp.get("/component-groups/<slug>")
@api_auth("read")
def group(slug: str):
    grp = db.session.scalar(select(ComponentGroup).where(ComponentGroup.slug == slug,
                                                         ComponentGroup.archived_at.is_(None)))
    if grp is None:
        raise ApiError.not_found(f"no component group {slug!r}")
    return jsonify(group_json(grp))


@bp.get("/checks")
@api_auth("read")
@accepts_query(*PAGE_PARAMS)
def checks():
    return paged_array(select(Check).where(Check.archived_at.is_(None)).order_by(Check.slug), check_json)


@bp.get("/checks/<slug>")
@api_auth("read")
def check(slug: str):
    c = _check(slug)
    return jsonify({**check_json(c), "latency_24h": latency_24h(c.id),
                    "locations": [check_location_json(s) for s in check_location_summaries(c, utcnow())]})


@bp.post("/checks/<slug>/silence")
@api_auth("write")
def check_silence(slug: str):
    """Silence until a date-time (null lifts it), or for some minutes (0 lifts it)."""
    chk = _check(slug)
    f = RequestFields(json_body(), allowed={"until", "minutes"})
    both = "until" in f.data and "minutes" in f.data
    if both:
        f.error("until", "give until or minutes, not both")
    minutes = f.integer("minutes", 0, MAX_SILENCE_MINUTES)
    until = f.timestamp("until")
    if not both and minutes is None and "until" not in f.data:
        f.error("until", "required: a date-time (null lifts the silence), or give minutes")
    f.done()
    if minutes is not None:
        until = None if minutes == 0 else utcnow() + dt.timedelta(minutes=minutes)
    silence_check(chk, until, actor=current_actor())
    return jsonify(check_json(chk))
