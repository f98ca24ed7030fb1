"""A small published site shared by the public-area tests."""

import datetime as dt
from types import SimpleNamespace

import pytest

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.services.incidents.status import set_check_status
from tests.support import factories as f


@pytest.fixture
def site(app):
    """Groups, public and internal components, incidents in every state, maintenance in every state."""
    now = utcnow()
    f.page(name="Acme Cloud", time_zone="Europe/Berlin", public_id="acmepage")
    core = f.group("Core platform", slug="core", position=0)
    api = f.component("Public API", slug="api", group=core, position=0, since=now - dt.timedelta(days=30),
                      description="REST API")
    web = f.component("Web app", slug="web", group=core, position=1, since=now - dt.timedelta(days=30))
    cdn = f.component("CDN", slug="cdn", position=2, since=now - dt.timedelta(days=30),
                      start_date=dt.date(2024, 1, 2))
    hidden = f.component("Backups", slug="backups", public=False, since=now - dt.timedelta(days=30))
    set_check_status(api, "partial_outage", now - dt.timedelta(minutes=20))
    open_inc = f.incident("API errors", components={api: "partial_outage", hidden: "major_outage"},
                          impact="major", started_at=now - dt.timedelta(minutes=20))
    f.update(open_inc, "We are investigating errors.", status="investigating", at=now - dt.timedelta(minutes=20),
             changes={api: ("operational", "partial_outage"), hidden: ("operational", "major_outage")})
    f.update(open_inc, "Root cause is the db-7 replica at 10.0.0.5", status="investigating", internal=True,
             at=now - dt.timedelta(minutes=10))
    f.update(open_inc, "Identified a bad deploy; rolling back.", status="identified",
             at=now - dt.timedelta(minutes=5))
    draft = f.incident("Draft: something odd", components={web: "degraded_performance"}, published=False)
    old = f.incident("Login failures", components={web: "major_outage"}, impact="critical", status="resolved",
                     started_at=now - dt.timedelta(days=3, hours=2), resolved_at=now - dt.timedelta(days=3))
    f.update(old, "Investigating login failures.", status="investigating", at=now - dt.timedelta(days=3, hours=2))
    f.update(old, "Fixed.", status="resolved", at=now - dt.timedelta(days=3))
    f.postmortem(old, [{"key": "summary", "title": "Summary", "body": "A **certificate** expired.", "public": True},
                       {"key": "internal", "title": "Internal notes", "body": "Pager went to the wrong team",
                        "public": False}])
    upcoming = f.maintenance("Database upgrade", start=now + dt.timedelta(days=2),
                             end=now + dt.timedelta(days=2, hours=2), components={web: 1})
    f.update(upcoming, "We will upgrade the database.", status="scheduled", at=now - dt.timedelta(days=1))
    active = f.maintenance("Network maintenance", start=now - dt.timedelta(minutes=30),
                           end=now + dt.timedelta(minutes=30), status="in_progress", components={cdn: 1})
    cancelled = f.maintenance("Cancelled window", start=now + dt.timedelta(days=5),
                              end=now + dt.timedelta(days=5, hours=1), status="cancelled")
    db.session.commit()
    return SimpleNamespace(api=api, web=web, cdn=cdn, hidden=hidden, core=core, open=open_inc, draft=draft,
                           old=old, upcoming=upcoming, active=active, cancelled=cancelled, now=now)
