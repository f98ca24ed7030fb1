"""`statuspage import statuspage` against a second running instance of ours serving the compat API: the
imported page's /api/v2 answers match the source's, subscribers keep their state without any mail, the
uptime bars show the imported history, a second run changes nothing, --dry-run writes nothing, and a
re-run brings over what changed (never re-subscribing anyone who opted out here)."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re

import pytest
import requests
from sqlalchemy import func, select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import (
    AuditLog,
    Component,
    ComponentGroup,
    ComponentStatusInterval,
    ImportMapping,
    Incident,
    IncidentUpdate,
    OutboxMessage,
    Subscriber,
    SubscriberComponent,
    UpdateTemplate,
)
from statuspage.services.incidents.lifecycle import find_incident, post_update
from statuspage.services.notifications.subscriptions import unsubscribe
from statuspage.services.uptime import Weights, component_uptime, uptime_bars

from .history import SEED, seed_history

V2_PATHS = ("summary.json", "status.json", "components.json", "incidents.json", "incidents/unresolved.json",
            "scheduled-maintenances.json", "scheduled-maintenances/upcoming.json",
            "scheduled-maintenances/active.json")
TABLES = (Component, ComponentGroup, Incident, IncidentUpdate, Subscriber, SubscriberComponent, UpdateTemplate,
          ImportMapping, ComponentStatusInterval, OutboxMessage, AuditLog)


def normalise(payload, base_url: str):
    """Drop what differs between two installations by nature: the page block, page ids, the host in
    shortlinks, and components' updated_at (when this installation last touched its row)."""
    if isinstance(payload, dict):
        return {k: normalise(v, base_url) for k, v in payload.items()
                if k not in ("page", "page_id") and not (k == "updated_at" and "showcase" in payload)}
    if isinstance(payload, list):
        return [normalise(v, base_url) for v in payload]
    if isinstance(payload, str) and payload.startswith(base_url):
        return "<base>" + payload[len(base_url):]
    return payload


def v2(url: str, path: str) -> dict:
    resp = requests.get(f"{url}/api/v2/{path}", timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def counts() -> dict[str, int]:
    db.session.rollback()
    return {m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in TABLES}


def run(runner, source, *extra):
    result = runner.invoke(args=["import", "statuspage", "--page-id", source.page_id, "--api-url", source.api_url,
                                 "--requests-per-second", "0", *extra],
                           env={"STATUSPAGE_IMPORT_API_KEY": source.key})
    db.session.rollback()
    db.session.expire_all()
    return result


@pytest.fixture
def seeded(source):
    with source.app.app_context():
        return seed_history()


def test_the_imported_page_answers_like_the_source(app, runner, source, seeded, live_server):
    empty = counts()
    dry = run(runner, source, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would create" in dry.output and "Dry run: nothing was written." in dry.output
    assert "created Zahlungen schlagen fehl — Störung" in dry.output
    assert counts() == empty

    result = run(runner, source)
    assert result.exit_code == 0, result.output
    assert "incidents and maintenance: 5 created" in result.output and "problem" not in result.output

    for path in V2_PATHS:
        ours = normalise(v2(live_server.url, path), live_server.url)
        theirs = normalise(v2(source.server.url, path), "http://source.test")
        ours = json.loads(json.dumps(ours).replace("http://status.test", "<base>"))
        if ours != theirs:
            diff = difflib.unified_diff(json.dumps(theirs, indent=1, sort_keys=True, ensure_ascii=False).splitlines(),
                                        json.dumps(ours, indent=1, sort_keys=True, ensure_ascii=False).splitlines(),
                                        "source", "imported", lineterm="", n=2)
            pytest.fail(f"{path} differs:\n" + "\n".join(list(diff)[:80]))

    summary = v2(live_server.url, "summary.json")
    assert summary["status"]["indicator"] == "minor"  # the open incident came along, and holds its component
    page = requests.get(f"{live_server.url}/incidents/{seeded.outage}", timeout=10).text
    assert "Wir untersuchen <strong>erhöhte</strong> Fehlerraten." in page and "<li>Zahlungen</li>" in page
    assert "Ein <strong>Zertifikat</strong> lief ab." in page and "10.0.0.5" not in page
    assert "Draft held for a human" not in json.dumps(summary)

    db.session.rollback()
    states = {s.email: (s.state, sorted(c.component_id for c in s.components))
              for s in db.session.scalars(select(Subscriber))}
    checkout = db.session.scalar(select(Component).where(Component.name == "Checkout (Kasse)"))
    assert states == {"anna@kunde.example": ("active", [checkout.id]), "ben@kunde.example": ("active", []),
                      "carla@kunde.example": ("pending", []), "dieter@kunde.example": ("unsubscribed", []),
                      "eve@bounce.example": ("quarantined", [])}
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0  # nobody was mailed
    assert {t.name for t in db.session.scalars(select(UpdateTemplate))} == {"Störung", "Resolved"}
    assert db.session.scalar(select(Component.source).where(Component.id == checkout.id)) == "import"

    # The 90-day bars and the uptime figure show the imported outage of twelve days ago.
    now = utcnow()
    bars = uptime_bars([checkout], now)[checkout.id].days
    assert next(b for b in bars if b.day == seeded.t0.date()).status == "major_outage"
    assert all(b.status == "operational" for b in bars
               if checkout.start_date <= b.day < now.date() and b.day != seeded.t0.date())
    assert all(b.status is None for b in bars if b.day < checkout.start_date)
    month = component_uptime([checkout.id], now - dt.timedelta(days=30), now, weights=Weights())
    assert 0.99 < month.uptime(checkout.id) < 1.0  # an hour of major outage in 30 days
    api = db.session.scalar(select(Component).where(Component.name == "Public API"))
    api_month = component_uptime([api.id], now - dt.timedelta(days=70), now, weights=Weights())
    assert api_month.components[api.id].figures.maintenance_seconds == pytest.approx(4 * 3600)

    before = counts()
    again = run(runner, source)
    assert again.exit_code == 0, again.output
    assert "Nothing changed: the page was already up to date." in again.output
    assert counts() == before


def test_a_rerun_brings_over_what_changed_and_keeps_opt_outs(app, runner, source, seeded):
    assert run(runner, source).exit_code == 0
    local_ben = db.session.scalar(select(Subscriber).where(Subscriber.email == "ben@kunde.example"))
    unsubscribe(local_ben, reason="link")  # ben opts out here; the source still has him active
    with source.app.app_context():
        inc = find_incident(seeded.open)
        post_update(inc, status="identified", body="Gefunden: ein überlasteter Knoten.", actor=SEED)
        anna = db.session.scalar(select(Subscriber).where(Subscriber.email == "anna@kunde.example"))
        unsubscribe(anna, reason="link")
    before = counts()
    result = run(runner, source)
    assert result.exit_code == 0, result.output
    assert re.search(r"incidents and maintenance: 0 created, 1 updated, 4 unchanged", result.output), result.output
    assert "incident updates: 1 created" in result.output
    db.session.rollback()
    local = db.session.scalar(select(Incident).where(Incident.public_id == seeded.open))
    assert local.status == "identified" and local.updates[0].body == "Gefunden: ein überlasteter Knoten."
    emails = {s.email: s.state for s in db.session.scalars(select(Subscriber))}
    assert emails["anna@kunde.example"] == "unsubscribed" and emails["ben@kunde.example"] == "unsubscribed"
    after = counts()
    assert after["incident"] == before["incident"] and after["subscriber"] == before["subscriber"]
    assert after["incident_update"] == before["incident_update"] + 1
    assert after["outbox"] == 0


def test_a_wrong_key_or_page_says_so_and_writes_nothing(app, runner, source):
    empty = counts()
    bad_key = runner.invoke(args=["import", "statuspage", "--page-id", source.page_id, "--api-url", source.api_url,
                                  "--requests-per-second", "0"], env={"STATUSPAGE_IMPORT_API_KEY": "nope"})
    assert bad_key.exit_code == 1 and "HTTP 401" in bad_key.output
    no_key = runner.invoke(args=["import", "statuspage", "--page-id", source.page_id, "--api-url", source.api_url],
                           env={"STATUSPAGE_IMPORT_API_KEY": ""})
    assert no_key.exit_code == 2 and "STATUSPAGE_IMPORT_API_KEY" in no_key.output
    wrong_page = run(runner, type("S", (), {"page_id": "notthepage12", "api_url": source.api_url,
                                            "key": source.key})())
    assert wrong_page.exit_code == 1 and "HTTP 404" in wrong_page.output
    assert counts() == empty
