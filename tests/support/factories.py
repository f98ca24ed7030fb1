"""The one set of test factories: rows written directly (fast, exact), or through a service where
the test needs what the service adds (``make_components`` opens status intervals, the ``announced_*``
factories enqueue notifications like the incident service does).

Factories commit, so workers in other threads and processes see what they made.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from decimal import Decimal

from sqlalchemy import insert

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import (
    Account,
    AccountComponent,
    AccountContact,
    AccountTeamMember,
    Check,
    Component,
    ComponentGroup,
    ComponentStatusInterval,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    IncidentUpdateComponent,
    Postmortem,
    Subscriber,
    SubscriberComponent,
    User,
)
from statuspage.services.audit import Actor
from statuspage.services.incidents.status import open_initial_interval
from statuspage.services.notifications.events import notify_event
from statuspage.services.page import bump_site_version, get_page
from statuspage.services.users import hash_password

PASSWORD = "correct horse battery staple"
ALICE = Actor(type="user", id=None, label="alice@acme.test", role="responder")


_seq = itertools.count(1)


def T(text: str) -> dt.datetime:
    """'2026-03-03 14:05' (UTC) → aware datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def page(**values):
    """The page settings row with ``values`` set."""
    p = get_page()
    for k, v in values.items():
        setattr(p, k, v)
    db.session.commit()
    return p


def group(name: str = "Core platform", slug: str | None = None, position: int = 0) -> ComponentGroup:
    g = ComponentGroup(slug=slug or f"group-{next(_seq)}", name=name, position=position)
    db.session.add(g)
    db.session.flush()
    return g


def component(name: str = "Public API", slug: str | None = None, *, group: ComponentGroup | None = None,
              position: int | None = None, public: bool = True, status: str = "operational",
              start_date: dt.date | None = None, since: dt.datetime | None = None, **extra) -> Component:
    """A component; with ``since`` it gets an open interval in ``status`` from then on."""
    n = next(_seq)
    c = Component(slug=slug or f"comp-{n}", name=name, group_id=group.id if group else None,
                  position=n if position is None else position, public=public, status=status,
                  check_status=status, status_source="check", start_date=start_date, **extra)
    db.session.add(c)
    db.session.flush()
    if since is not None:
        db.session.add(ComponentStatusInterval(component_id=c.id, status=status, source="check",
                                               started_at=since))
    db.session.commit()
    return c


def interval(comp: Component, status: str, start: dt.datetime, end: dt.datetime | None,
             source: str = "check") -> ComponentStatusInterval:
    row = ComponentStatusInterval(component_id=comp.id, status=status, source=source, started_at=start,
                                  ended_at=end)
    db.session.add(row)
    db.session.flush()
    return row


def timeline(comp: Component, *steps: tuple[str, str], end: str | None = None) -> None:
    """Consecutive intervals: timeline(c, ("2026-03-01 00:00", "operational"), ("2026-03-02 10:00", "major_outage"))."""
    for i, (start, status) in enumerate(steps):
        stop = steps[i + 1][0] if i + 1 < len(steps) else end
        interval(comp, status, T(start), T(stop) if stop else None)


def incident(name: str = "Elevated API errors", *, components: dict[Component, str] | None = None,
             status: str = "investigating", impact: str = "major", published: bool = True,
             started_at: dt.datetime | None = None, resolved_at: dt.datetime | None = None,
             kind: str = "incident", scheduled_for: dt.datetime | None = None,
             scheduled_until: dt.datetime | None = None, created_at: dt.datetime | None = None) -> Incident:
    created = created_at or started_at or scheduled_for or dt.datetime.now(dt.UTC)
    inc = Incident(public_id=secrets.token_hex(6), kind=kind, name=name, status=status, impact=impact,
                   published_at=created if published else None, started_at=started_at or created,
                   resolved_at=resolved_at, created_at=created, updated_at=created,
                   scheduled_for=scheduled_for, scheduled_until=scheduled_until)
    db.session.add(inc)
    db.session.flush()
    for comp, comp_status in (components or {}).items():
        db.session.add(IncidentComponent(incident_id=inc.id, component_id=comp.id, status=comp_status))
    if published:
        bump_site_version()
    db.session.flush()
    return inc


def maintenance(name: str = "Database upgrade", *, start: dt.datetime, end: dt.datetime,
                status: str = "scheduled", components: dict[Component, str] | None = None,
                published: bool = True) -> Incident:
    comps = {c: "under_maintenance" for c in (components or {})}
    return incident(name, components=comps, status=status, impact="maintenance", published=published,
                    kind="maintenance", scheduled_for=start, scheduled_until=end, started_at=start,
                    created_at=start - dt.timedelta(days=2))


def update(inc: Incident, body: str, *, status: str | None = None, at: dt.datetime | None = None,
           internal: bool = False, changes: dict[Component, tuple[str | None, str]] | None = None
           ) -> IncidentUpdate:
    when = at or dt.datetime.now(dt.UTC)
    u = IncidentUpdate(public_id=secrets.token_hex(6), incident_id=inc.id, status=status or inc.status,
                       body=body, internal=internal, created_at=when, display_at=when)
    db.session.add(u)
    db.session.flush()
    for comp, (old, new) in (changes or {}).items():
        db.session.add(IncidentUpdateComponent(update_id=u.id, component_id=comp.id, old_status=old,
                                               new_status=new))
    if not internal:
        bump_site_version()
    db.session.flush()
    db.session.expire(inc, ["updates"])
    return u


def postmortem(inc: Incident, sections: list[dict], *, published: bool = True) -> Postmortem:
    pm = Postmortem(incident_id=inc.id, sections=sections,
                    published_at=dt.datetime.now(dt.UTC) if published else None)
    db.session.add(pm)
    bump_site_version()
    db.session.flush()
    db.session.expire(inc, ["postmortem"])
    return pm


WORDS = ["API", "Dashboard", "Webhooks", "Search", "Billing", "Auth", "Storage", "CDN", "Email delivery",
         "Notifications", "Database", "Queue", "Scheduler", "Analytics", "Exports", "Imports"]
CAUSES = ["Elevated error rates", "Increased latency", "Degraded performance", "Partial outage",
          "Delayed processing", "Connectivity issues"]


def demo_site(now: dt.datetime, *, components: int = 12, groups: int = 3, days: int = 90,
              incidents: int = 20, seed: int = 7) -> list[Component]:
    """A realistic page: grouped components with `days` of status history and past incidents.

    Incidents are spread over roughly twice `days`; those inside the window also leave status
    intervals (so bars, tooltips and incidents agree). Deterministic for a given seed.
    """
    import random

    from statuspage.services.uptime import rollup_uptime

    rnd = random.Random(seed)
    page(name="Acme Cloud", time_zone="Europe/Berlin")
    regions = ["Core platform", "US (us-east)", "EU (eu-central)", "APAC (ap-south)", "Integrations",
               "Data", "Messaging", "Edge"]
    gs = [group(regions[i % len(regions)] + ("" if i < len(regions) else f" {i}"), slug=f"g{i}", position=i)
          for i in range(groups)]
    comps = []
    start = now - dt.timedelta(days=days)
    for i in range(components):
        g = gs[i % groups] if groups else None
        name = f"{WORDS[i % len(WORDS)]}{'' if i < len(WORDS) else f' {i // len(WORDS) + 1}'}"
        comps.append(component(name, slug=f"c{i}", group=g, position=i,
                               description="Serving customers worldwide" if i % 4 == 0 else None,
                               created_at=start))
    # Incidents: newest first in time, spread over 2×days.
    outages: dict[int, list[tuple[dt.datetime, dt.datetime, str]]] = {c.id: [] for c in comps}
    for _n in range(incidents):
        began = now - dt.timedelta(days=rnd.uniform(0.5, days * 2), minutes=rnd.randint(0, 600))
        length = dt.timedelta(minutes=rnd.randint(15, 240))
        affected = rnd.sample(comps, k=rnd.randint(1, 3))
        status = rnd.choice(["major_outage", "partial_outage", "degraded_performance"])
        impact = {"major_outage": "critical", "partial_outage": "major", "degraded_performance": "minor"}[status]
        inc = incident(f"{rnd.choice(CAUSES)} on {affected[0].name}", components={c: status for c in affected},
                       status="resolved", impact=impact, started_at=began, resolved_at=began + length)
        steps = [("investigating", "We are investigating reports of errors.", 0),
                 ("identified", "The cause has been identified: a faulty deploy. Rolling back.", 0.4),
                 ("monitoring", "A fix has been applied; we are monitoring the results.", 0.7),
                 ("resolved", "This incident has been resolved.", 1.0)]
        for st, body, frac in steps:
            update(inc, body, status=st, at=began + length * frac,
                   changes={c: ("operational", status if st != "resolved" else "operational") for c in affected})
        if began > start:
            for c in affected:
                outages[c.id].append((began, began + length, status))
    rows = []
    for c in comps:
        cursor = start
        for s, e, status in sorted(outages[c.id]):
            if s < cursor:
                continue
            rows.append(ComponentStatusInterval(component_id=c.id, status="operational", source="check",
                                                started_at=cursor, ended_at=s))
            rows.append(ComponentStatusInterval(component_id=c.id, status=status, source="incident",
                                                started_at=s, ended_at=e))
            cursor = e
        rows.append(ComponentStatusInterval(component_id=c.id, status="operational", source="check",
                                            started_at=cursor))
    db.session.add_all(rows)
    db.session.flush()
    rollup_uptime(now)
    db.session.commit()
    return comps


def make_components(*slugs: str, public: bool = True) -> list[Component]:
    """Live components named after their slugs, each with an open status interval (as config apply makes)."""
    out = []
    for i, slug in enumerate(slugs):
        comp = Component(slug=slug, name=slug.replace("-", " ").title(), position=i, public=public,
                         status="operational", status_source="check", check_status="operational")
        db.session.add(comp)
        db.session.flush()
        open_initial_interval(comp, utcnow())
        out.append(comp)
    db.session.commit()
    return out


def make_check(comp: Component, slug: str = "probe", on_down: str = "major_outage") -> Check:
    """A down HTTP check on ``comp`` with a resolved failing condition."""
    check = Check(slug=slug, component_id=comp.id, kind="http", target="http://10.0.0.1/healthz",
                  spec={"id": slug, "kind": "http"}, interval_seconds=30, timeout_seconds=5,
                  on_down=on_down, status="down", state={},
                  last_result={"outcome": "down", "conditions": [
                      {"text": "[STATUS] == 200", "resolved": "[STATUS] (500) == 200", "ok": False}]})
    db.session.add(check)
    db.session.commit()
    return check


def announced_incident(name: str, components: list[Component], *, status: str = "investigating",
             body: str = "We are investigating.", kind: str = "incident", notify: bool = True,
             event: str | None = "incident_created") -> tuple[Incident, IncidentUpdate]:
    """A published incident with its first update, notified (``notify_event``) in one transaction."""
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


def announced_update(inc: Incident, status: str, body: str, *, event: str = "incident_updated",
           notify: bool = True, internal: bool = False) -> IncidentUpdate:
    """An update of ``inc``, notified like the incident service does."""
    now = utcnow()
    upd = IncidentUpdate(public_id=secrets.token_hex(6), incident_id=inc.id, status=status, body=body,
                         notify=notify, internal=internal, display_at=now, created_at=now)
    inc.status = status
    db.session.add(upd)
    db.session.flush()
    notify_event(event, inc, upd)
    db.session.commit()
    return upd


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


def account(external_id: str, name: str, *, components: list[Component] = (), arr: float = 0,
            tier: str | None = None, renewal_date=None, sla_target: float | None = None, owner: str | None = None,
            team: list[str] = (), contacts: list[tuple[str, str]] = (), source: str = "api") -> Account:
    """An account; ``contacts`` are (email, notify) pairs."""
    acc = Account(external_id=external_id, name=name, arr=Decimal(str(arr)), tier=tier, renewal_date=renewal_date,
                  sla_target=Decimal(str(sla_target)) if sla_target is not None else None, owner_email=owner,
                  source=source)
    db.session.add(acc)
    db.session.flush()
    for c in components:
        db.session.add(AccountComponent(account_id=acc.id, component_id=c.id))
    for email in team:
        db.session.add(AccountTeamMember(account_id=acc.id, email=email))
    for email, notify in contacts:
        db.session.add(AccountContact(account_id=acc.id, email=email, name=email.split("@")[0].title(),
                                      notify=notify))
    db.session.flush()
    db.session.expire(acc)
    return acc


_HASH = None


_HASH: list[str] = []


def user(role: str = "responder", email: str | None = None) -> User:
    """A console user whose password is ``PASSWORD`` (hashed once per test run: argon2 is slow on purpose)."""
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    u = User(email=email or f"{role}@acme.test", role=role, password_hash=_HASH[0])
    db.session.add(u)
    db.session.commit()
    return u
