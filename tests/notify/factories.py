"""Small factories: incidents, updates and subscribers written with the models directly, the way the
incident service will (it calls notify_event inside its own transaction)."""

from __future__ import annotations

import secrets

from sqlalchemy import insert

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import (
    Component,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    Subscriber,
    SubscriberComponent,
)
from statuspage.services.notifications.events import notify_event
from statuspage.services.page import get_page


def page(name: str = "Acme Cloud"):
    p = get_page()
    p.name = name
    p.public_id = "acmepage"
    db.session.commit()
    return p


def component(slug: str, name: str | None = None, *, position: int = 0, public: bool = True) -> Component:
    comp = Component(slug=slug, name=name or slug.upper(), position=position, public=public)
    db.session.add(comp)
    db.session.commit()
    return comp


def subscriber(email: str, components: list[Component] | None = None, *, confirmed: bool = True,
               unsubscribed: bool = False) -> Subscriber:
    now = utcnow()
    sub = Subscriber(kind="email", email=email, all_components=not components, token_version=1,
                     confirmed_at=now if confirmed else None, unsubscribed_at=now if unsubscribed else None)
    db.session.add(sub)
    db.session.flush()
    for comp in components or []:
        db.session.add(SubscriberComponent(subscriber_id=sub.id, component_id=comp.id))
    db.session.commit()
    return sub


def many_subscribers(n: int, *, domain: str = "example.test", start: int = 0) -> None:
    """`n` confirmed all-components email subscribers in one bulk insert."""
    now = utcnow()
    db.session.execute(insert(Subscriber.__table__), [
        {"kind": "email", "email": f"user{i}@{domain}", "all_components": True, "confirmed_at": now,
         "created_at": now, "token_version": 1, "failure_count": 0, "webhook_format": "statuspage"}
        for i in range(start, start + n)])
    db.session.commit()


def incident(name: str, components: list[Component], *, status: str = "investigating",
             body: str = "We are investigating.", kind: str = "incident", notify: bool = True,
             event: str | None = "incident_created") -> tuple[Incident, IncidentUpdate]:
    """Create a published incident with its first update and notify, in one transaction."""
    now = utcnow()
    inc = Incident(public_id=secrets.token_hex(6), kind=kind, name=name, status=status, impact="major",
                   notify=notify, published_at=now, started_at=now)
    db.session.add(inc)
    db.session.flush()
    for comp in components:
        db.session.add(IncidentComponent(incident_id=inc.id, component_id=comp.id, status="major_outage"))
    upd = IncidentUpdate(public_id=secrets.token_hex(6), incident_id=inc.id, status=status, body=body,
                         notify=notify, display_at=now, created_at=now)
    db.session.add(upd)
    db.session.flush()
    if event:
        notify_event(event, inc, upd)
    db.session.commit()
    return inc, upd


def update(inc: Incident, status: str, body: str, *, event: str = "incident_updated",
           notify: bool = True, internal: bool = False) -> IncidentUpdate:
    now = utcnow()
    upd = IncidentUpdate(public_id=secrets.token_hex(6), incident_id=inc.id, status=status, body=body,
                         notify=notify, internal=internal, display_at=now, created_at=now)
    inc.status = status
    db.session.add(upd)
    db.session.flush()
    notify_event(event, inc, upd)
    db.session.commit()
    return upd
