"""The world the page walk visits: one of everything a customer, an engineer and an account team see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import AuditLog, CheckResult, CheckRollup, OutboxMessage
from statuspage.services.accounts.private_links import account_view_token
from statuspage.services.audit import Actor, record
from statuspage.services.incidents import lifecycle, maintenance, postmortems
from statuspage.services.incidents.status import set_check_status
from statuspage.services.monitoring.rollups import rollup_and_prune
from statuspage.services.notifications import tokens
from statuspage.services.users import create_token, setup_token
from tests.support import factories as f

ALICE = f.ALICE


@dataclass
class World:
    public: list[tuple[str, str]] = field(default_factory=list)  # (name, path)
    console: list[tuple[str, str]] = field(default_factory=list)
    signed_out: list[tuple[str, str]] = field(default_factory=list)  # console pages before signing in
    email: str = ""


def build() -> World:
    now = utcnow()
    comps = f.demo_site(now, components=12, groups=3, incidents=30)
    f.page(settings={"currency": "EUR"}, on_call="oncall@acme.test")
    api, web, db_comp = comps[0], comps[1], comps[2]
    set_check_status(web, "partial_outage")
    open_inc = lifecycle.declare_incident(
        name="Elevated latency on the dashboard for customers in the EU region", impact="major",
        components={web.id: "partial_outage"}, body="We are investigating **elevated latency** on the dashboard.",
        actor=ALICE)
    lifecycle.post_update(open_inc, status="identified", body="A slow database replica; failing over.",
                          actor=ALICE)
    lifecycle.add_internal_note(open_inc, "Paged the database team; ticket OPS-4211.", actor=ALICE)
    draft = lifecycle.declare_incident(name="API health check failing", impact="minor",
                                       components={api.id: "degraded_performance"}, body="Auto-detected.",
                                       publish=False, actor=Actor.system("checks"), source="auto")
    old = lifecycle.declare_incident(name="Login failures", impact="critical", components={api.id: "major_outage"},
                                     body="Investigating login failures.", actor=ALICE,
                                     now=now - dt.timedelta(days=2, hours=1))
    lifecycle.post_update(old, status="resolved", body="An expired certificate was replaced.", actor=ALICE,
                          now=now - dt.timedelta(days=2))
    pm = postmortems.get_or_create_postmortem(old, actor=ALICE)
    postmortems.save_postmortem(pm, actor=ALICE, sections={
        "summary": {"body": "A certificate on the login service expired at 09:12 UTC.", "public": True},
        "root_cause": {"body": "The renewal job had been failing silently for 30 days.", "public": True}},
        cause_category="configuration", new_item={"title": "Alert 14 days before certificates expire",
                                                "owner": "sre@acme.test", "due_date": "2020-01-01"})
    postmortems.publish_postmortem(pm, actor=ALICE)
    window = maintenance.schedule_maintenance(
        name="Database upgrade to PostgreSQL 17", body="We will upgrade the primary database; expect 5 minutes "
        "of read-only mode.", scheduled_for=now + dt.timedelta(days=2),
        scheduled_until=now + dt.timedelta(days=2, hours=2), components=[db_comp.slug], actor=ALICE)

    globex = f.account("CRM-0001", "Globex Corporation", components=[api, web], arr=120000, tier="enterprise",
                       renewal_date=dt.date.today() + dt.timedelta(days=40), sla_target=99.9,
                       owner="jane@acme.test", team=["csm-emea@acme.test"],
                       contacts=[("ops@globex.example", "all"), ("cto@globex.example", "major")])
    f.account("CRM-0002", "Initech", components=[web], arr=50000, tier="growth", sla_target=99.5,
              owner="bob@acme.test", contacts=[("it@initech.example", "major")])
    f.account("CRM-0003", "Umbrella Corporation International Holdings", components=[db_comp], arr=300000,
              tier="enterprise", sla_target=99.95, owner="jane@acme.test")

    sub = f.subscriber("ops@customer.example", [api, web], confirmed=False)
    f.subscriber("everything@customer.example")
    f.subscriber("gone@customer.example", unsubscribed=True)

    check = f.make_check(api, slug="api-health")
    check.target = "https://api.acme.example/healthz"
    check.last_run_at = now
    check.last_result = {"outcome": "down", "latency_ms": 812.0, "error_class": "http_status",
                         "message": "HTTP 503", "conditions": [
                             {"text": "[BODY].status == ok", "resolved": "[BODY].status (ok) == ok", "ok": True},
                             {"text": "[STATUS] == 200", "resolved": "[STATUS] (503) == 200", "ok": False},
                             {"text": "[RESPONSE_TIME] < 800", "resolved": "[RESPONSE_TIME] (812) < 800",
                              "ok": False, "severity": "degraded"}]}
    heartbeat = f.make_check(db_comp, slug="nightly-backup")
    heartbeat.kind, heartbeat.status, heartbeat.target = "heartbeat", "up", None
    heartbeat.heartbeat_token = "walk-token-0123456789abcdef"
    heartbeat.last_ping_at, heartbeat.last_run_at = now - dt.timedelta(hours=2), now
    heartbeat.last_result = {"outcome": "up", "message": "last ping 2h ago", "conditions": []}
    heartbeat.spec = {"id": "nightly-backup", "kind": "heartbeat", "grace": 3600.0}
    heartbeat.interval_seconds = 86400
    db.session.commit()
    for i in range(36 * 6):  # six probes an hour for a day and a half: hourly rollups and raw results
        at = now - dt.timedelta(minutes=10 * i)
        db.session.add(CheckResult(check_id=check.id, scheduled_for=at, started_at=at,
                                   latency_ms=120 + (i * 37) % 90 + (400 if i % 17 == 0 else 0),
                                   outcome="down" if i % 29 == 0 else "up"))
    db.session.commit()
    web_check = f.make_check(web, slug="dashboard-http")
    web_check.status, web_check.last_result = "up", {"outcome": "up", "latency_ms": 95.0, "conditions": []}
    for chk, base_ms in ((check, 150.0), (web_check, 90.0)):
        _history(chk.id, now, base_ms)
    db.session.commit()
    rollup_and_prune(now, retention_days=30)

    create_token("deploy bot", "write")
    f.user("viewer", "viewer@acme.test")
    admin = f.user("admin", "alice@acme.test")
    for n in range(30):
        record(ALICE, "incident.update", "incident", open_inc.public_id,
               before={"status": "investigating", "name": open_inc.name},
               after={"status": "identified", "components": {"web": "partial_outage", "api": "operational"},
                      "update": f"u{n:04d}", "note": "a long value " * 6})
    db.session.add(OutboxMessage(dedupe_key="walk-failed", channel="email", kind="incident_created",
                                 audience="subscriber", recipient="bounce@customer.example", status="failed",
                                 attempts=5, last_error="550 5.1.1 mailbox unavailable", payload={},
                                 next_attempt_at=now, created_at=now))
    db.session.commit()
    assert db.session.query(AuditLog).count() > 30

    w = World(email=admin.email)
    w.public = [
        ("index", "/"), ("history", "/history"), ("component", f"/components/{web.slug}"),
        ("incident-open", f"/incidents/{open_inc.public_id}"), ("incident-postmortem", f"/incidents/{old.public_id}"),
        ("maintenance", f"/incidents/{window.public_id}"), ("subscribe", "/subscribe"),
        ("subscribe-confirm", f"/subscribe/confirm/{tokens.make_token(sub.id, sub.token_version, 'confirm')}"),
        ("subscribe-manage", f"/subscribe/manage/{tokens.make_token(sub.id, sub.token_version, 'manage')}"),
        ("unsubscribe", f"/unsubscribe/{tokens.make_token(sub.id, sub.token_version, 'unsubscribe')}"),
        ("account-private", f"/a/{account_view_token(globex)}"), ("not-found", "/no-such-page"),
    ]
    w.signed_out = [("login", "/login")]
    w.console = [
        ("dashboard", "/admin/"), ("incidents", "/admin/incidents"), ("incident-new", "/admin/incidents/new"),
        ("incident", f"/admin/incidents/{open_inc.public_id}"), ("incident-draft", f"/admin/incidents/{draft.public_id}"),
        ("incident-accounts", f"/admin/incidents/{open_inc.public_id}/accounts"),
        ("postmortem", f"/admin/incidents/{old.public_id}/postmortem"), ("maintenance-list", "/admin/maintenance"),
        ("maintenance-new", "/admin/maintenance/new"), ("maintenance", f"/admin/maintenance/{window.public_id}"),
        ("templates", "/admin/templates"), ("reports", "/admin/reports"), ("check", "/admin/checks/api-health"),
        ("check-heartbeat", "/admin/checks/nightly-backup"), ("accounts", "/admin/accounts"),
        ("account", "/admin/accounts/CRM-0001"), ("account-edit", "/admin/accounts/CRM-0001/edit"),
        ("account-new", "/admin/accounts/new"), ("sla", "/admin/sla"), ("subscribers", "/admin/subscribers"),
        ("outbox", "/admin/outbox"), ("locations", "/admin/locations"), ("users", "/admin/users"),
        ("tokens", "/admin/tokens"), ("audit", "/admin/audit"),
        ("password", "/account/password"), ("console-not-found", "/admin/no-such-page"),
    ]
    return w


def _history(check_id: int, now: dt.datetime, base_ms: float) -> None:
    """Rollups as weeks of probing leave them: hourly for 7 days, daily for 90 (older than the raw results)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    for h in range(37, 24 * 7):
        slow = 2.5 if h % 53 < 3 else 1.0
        db.session.add(CheckRollup(check_id=check_id, period="hour", period_start=hour - dt.timedelta(hours=h),
                                   runs=120, failures=0, degraded=0, p50_ms=base_ms * slow + h % 7 * 3,
                                   p95_ms=base_ms * 2.2 * slow + h % 11 * 9))
    day = hour.replace(hour=0)
    for d in range(2, 90):
        if 40 <= d < 44:
            continue  # a gap: the checks did not run those days
        db.session.add(CheckRollup(check_id=check_id, period="day", period_start=day - dt.timedelta(days=d),
                                   runs=2880, failures=0, degraded=0, p50_ms=base_ms + d % 9 * 4,
                                   p95_ms=base_ms * 2.1 + d % 13 * 11 + (300 if d % 31 == 0 else 0)))


def first_run_paths() -> list[tuple[str, str]]:
    """The setup page exists only before any admin: visited on an empty site."""
    return [("setup", f"/setup/{setup_token()}"), ("login-first-run", "/login")]
