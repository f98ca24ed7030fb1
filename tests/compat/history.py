"""Seed a page with history through our own services (past times passed as ``now``): the page an import
reads from. Unicode and markdown in names and texts, a resolved incident with a published postmortem, an
open incident, an internal note and a draft (neither may leave), a maintenance across a month boundary, an
upcoming and a cancelled one, templates, and subscribers in every state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Subscriber
from statuspage.services.audit import Actor
from statuspage.services.incidents.components import create_component, create_group, update_component
from statuspage.services.incidents.lifecycle import add_internal_note, declare_incident, post_update
from statuspage.services.incidents.maintenance import (
    cancel_maintenance,
    post_maintenance_update,
    schedule_maintenance,
)
from statuspage.services.incidents.postmortems import (
    get_or_create_postmortem,
    publish_postmortem,
    save_postmortem,
)
from statuspage.services.incidents.templates import save_template
from statuspage.services.notifications.subscriptions import (
    confirm,
    create_webhook_subscriber,
    quarantine,
    request_subscription,
    unsubscribe,
)

SEED = Actor(type="cli", label="seed")


@dataclass
class Seeded:
    outage: str
    partial: str
    open: str
    across_months: str
    upcoming: str
    t0: dt.datetime


def seed_history(now: dt.datetime | None = None) -> Seeded:
    """Write the history (inside the source app's context)."""
    now = now or utcnow()
    day = dt.timedelta(days=1)
    hour = dt.timedelta(hours=1)
    t0 = (now - 12 * day).replace(hour=9, minute=0, second=0, microsecond=0)
    created = now - 100 * day  # before everything below, the maintenance of last month included
    group = create_group(name="Zahlungsplattform 💳", description="Payments — **core**", actor=SEED, now=created)
    checkout = create_component(name="Checkout (Kasse)", description="Bezahlen & *Rückerstattungen*", group=group,
                                actor=SEED, now=created)
    api = create_component(name="Public API", description="REST API, v2", actor=SEED, now=created)
    docs = create_component(name="Docs", only_show_if_degraded=True, actor=SEED, now=created)
    cdn = create_component(name="CDN", showcase=False, start_date=dt.date(2025, 1, 1), actor=SEED, now=created)
    update_component(docs, description="Handbuch", actor=SEED, now=created)

    outage = declare_incident(name="Zahlungen schlagen fehl — Störung", impact="major",
                              components={checkout: "major_outage"},
                              body="Wir untersuchen **erhöhte** Fehlerraten.\n\n- Zahlungen\n- Rückerstattungen",
                              actor=SEED, now=t0)
    post_update(outage, status="identified", body="Ursache: ein fehlerhaftes Deployment.", actor=SEED,
                now=t0 + 20 * dt.timedelta(minutes=1))
    post_update(outage, status="monitoring", body="Zurückgerollt; wir beobachten.",
                components={checkout: "operational"}, actor=SEED, now=t0 + hour)
    add_internal_note(outage, "db-7 replica at 10.0.0.5 — never public", actor=SEED, now=t0 + hour)
    post_update(outage, status="resolved", body="Behoben. ✅", actor=SEED, now=t0 + 2 * hour)
    pm = get_or_create_postmortem(outage, actor=SEED)
    save_postmortem(pm, actor=SEED, sections={"summary": {"body": "Ein **Zertifikat** lief ab.", "public": True},
                                              "root_cause": {"body": "Kein Alarm für Ablaufdaten.", "public": True},
                                              "timeline": {"body": "", "public": False}})
    publish_postmortem(pm, actor=SEED, now=t0 + day)

    partial = declare_incident(name="Slow API responses", impact="minor", components={api: "partial_outage"},
                               body="Responses take *seconds*.", actor=SEED, now=now - 3 * day)
    post_update(partial, status="resolved", body="Back to normal.", actor=SEED, now=now - 3 * day + 30 * dt.timedelta(
        minutes=1))

    first_of_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    boundary = (first_of_month - day).replace(day=1)  # the start of last month: always in the past
    across = schedule_maintenance(name="Rechenzentrum-Umzug", body="Geplante **Wartung** über den Monatswechsel.",
                                  scheduled_for=boundary - 2 * hour, scheduled_until=boundary + 2 * hour,
                                  components=[cdn, api], actor=SEED, now=boundary - 7 * day)
    post_maintenance_update(across, status="in_progress", body="Begonnen.", actor=SEED, now=boundary - 2 * hour)
    post_maintenance_update(across, status="completed", body="Abgeschlossen.", actor=SEED, now=boundary + 2 * hour)
    upcoming = schedule_maintenance(name="Database upgrade", body="Expect **short** interruptions.",
                                    scheduled_for=now + 3 * day, scheduled_until=now + 3 * day + 4 * hour,
                                    components=[checkout], actor=SEED, now=now - hour)
    cancelled = schedule_maintenance(name="Cancelled window", scheduled_for=now + 5 * day,
                                     scheduled_until=now + 5 * day + hour, components=[api], actor=SEED, now=now - hour)
    cancel_maintenance(cancelled, actor=SEED, now=now - 30 * dt.timedelta(minutes=1))
    declare_incident(name="Draft held for a human", components={docs: "major_outage"}, publish=False, actor=SEED)
    still_open = declare_incident(name="Elevated error rates", impact="minor",
                                  components={api: "degraded_performance"}, body="Looking into it.",
                                  actor=SEED, now=now - 10 * dt.timedelta(minutes=1))

    save_template(name="Störung", title="Störung bei {{component}}", body="Wir untersuchen das Problem.",
                  status="investigating", actor=SEED)
    save_template(name="Resolved", title="Resolved", body="All good.", status="resolved", actor=SEED)
    _subscribers(checkout)
    create_webhook_subscriber("https://hooks.example/status", actor=SEED)
    return Seeded(outage.public_id, partial.public_id, still_open.public_id, across.public_id, upcoming.public_id, t0)


def _subscribers(checkout) -> None:
    def subscribe(email: str, components=None) -> Subscriber:
        return request_subscription(email, components).subscriber

    anna = subscribe("anna@kunde.example", [checkout.slug])
    confirm(anna)
    confirm(subscribe("ben@kunde.example"))
    subscribe("carla@kunde.example")  # never confirmed
    dieter = subscribe("dieter@kunde.example")
    confirm(dieter)
    unsubscribe(dieter, reason="link")
    eve = subscribe("eve@bounce.example")
    confirm(eve)
    quarantine(eve.id, "550 mailbox unavailable")
    db.session.commit()


def seed_subscribers(count: int, *, start: int = 0) -> None:
    """Many confirmed subscribers, written in bulk (for the resume test and the benchmark)."""
    now = utcnow()
    rows = [{"kind": "email", "email": f"user{i}@many.example", "all_components": True, "created_at": now,
             "confirmed_at": now, "token_version": 1, "webhook_format": "statuspage", "failure_count": 0}
            for i in range(start, start + count)]
    for offset in range(0, len(rows), 5000):
        db.session.execute(Subscriber.__table__.insert(), rows[offset:offset + 5000])
    db.session.commit()
