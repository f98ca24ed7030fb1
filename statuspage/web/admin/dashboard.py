"""The console's front page (open incidents, drafts from checks, failing checks, upcoming maintenance) and check pages.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...db import utcnow
from ...extensions import db
from ...models import Check, Incident
from ...models.constants import OPEN_INCIDENT_STATUSES
from ...services.incidents import maintenance as maint_svc
from ...services.incidents.lifecycle import IncidentError
from ...services.monitoring.latency import TIMED_KINDS, latency_series
from ...services.monitoring.location_report import check_location_summaries, check_notes
from ...services.monitoring.rollups import latency_24h
from ...services.monitoring.selfcheck import monitoring_state, worker_loads
from ...services.monitoring.silence import silence_check
from ...services.monitoring.tools import heartbeat_url
from ...services.page import get_page
from ...services.page_info import statuspage_api_base
from ..authz import EVERYONE, current_actor, require_role
from ..charts import latency_context
from .blueprint import (
    WRITERS,
    all_components,
    bp,
)


@bp.get("/")
@require_role(*EVERYONE)
def dashboard():
    now = utcnow()
    open_incidents = db.session.scalars(select(Incident).where(
        Incident.kind == "incident", Incident.status.in_(OPEN_INCIDENT_STATUSES))
        .order_by(Incident.created_at.desc())).all()
    checks = db.session.scalars(select(Check).where(Check.archived_at.is_(None))
                                .options(selectinload(Check.component)).order_by(Check.slug)).all()
    # Multi-location checks whose status alone would mislead: failing below the quorum, or undecided.
    notes = {c.slug: check_notes(c) for c in checks if c.partial_failures or c.monitoring_delayed}
    failing = [c for c in checks if c.status in ("down", "degraded")]
    settings = current_app.extensions["statuspage.settings"]
    return render_template(
        "admin/dashboard.html", now=now,
        monitoring=monitoring_state(settings.monitoring_stale_after, now,
                                    max_start_lag=settings.monitoring_max_start_lag),
        worker_loads=worker_loads(now),
        published=[i for i in open_incidents if i.published_at is not None],
        drafts=[i for i in open_incidents if i.published_at is None],
        components=all_components(), checks=checks, failing=failing, notes=notes,
        maintenance=maint_svc.upcoming_maintenance(now, limit=10), statuspage_api=statuspage_api_base())


@bp.get("/checks/<slug>")
@require_role(*EVERYONE)
def check_detail(slug: str):
    check = db.session.scalar(select(Check).where(Check.slug == slug))
    if check is None:
        abort(404)
    # The ping URL is a credential (anyone holding it can report the job alive): for writers only.
    ping_url = heartbeat_url(check, request.host_url) if current_user.role in ("admin", *WRITERS) else None
    charts = None
    if check.kind in TIMED_KINDS:
        charts = latency_context(latency_series([check.id], utcnow()), key=check.slug,
                                 tz_name=get_page().time_zone, subject=f"check {check.slug}")
    per_location = check_location_summaries(check, utcnow())
    return render_template("admin/check.html", check=check, latency=latency_24h(check.id),
                           last=check.last_result or {}, ping_url=ping_url, charts=charts,
                           per_location=per_location, notes=check_notes(check, per_location))


@bp.post("/checks/<slug>/silence")
@require_role(*WRITERS)
def check_silence(slug: str):
    check = db.session.scalar(select(Check).where(Check.slug == slug))
    if check is None:
        abort(404)
    minutes = request.form.get("minutes", "")
    try:
        until = None if minutes in ("", "0") else utcnow() + dt.timedelta(minutes=int(minutes))
        silence_check(check, until, actor=current_actor())
    except (ValueError, IncidentError) as exc:
        flash(f"Could not silence {slug}: {exc}", "error")
    else:
        flash(f"{slug} silenced." if until else f"{slug} is no longer silenced.", "success")
    return redirect(url_for("admin.dashboard"), 303)
