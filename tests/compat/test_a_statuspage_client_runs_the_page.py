"""A client of Statuspage's contract drives the whole page over real HTTP: components and groups, an incident
through every state with a postmortem, a maintenance, subscribers and templates. After each step the public
/api/v2 and the public page show it, subscribers are notified, audit rows written and the site version bumped
exactly as from the console."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from sqlalchemy import func, select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import AuditLog, OutboxMessage, Subscriber, UpdateTemplate
from statuspage.services.notifications.subscriptions import confirm
from statuspage.services.page import current_site_version


def read(fn):
    """Read the database from the test thread without holding a transaction (the server writes)."""
    db.session.rollback()
    try:
        return fn()
    finally:
        db.session.rollback()


def audit_actions() -> list[tuple[str, str]]:
    return read(lambda: [(a.action, a.actor_type) for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))])


class Row:
    """Plain values of an outbox row (ORM objects would reload, and lock, after the read)."""

    def __init__(self, m: OutboxMessage):
        self.kind, self.recipient, self.incident_id = m.kind, m.recipient, m.incident_id


def outbox(kind: str | None = None) -> list[Row]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return read(lambda: [Row(m) for m in db.session.scalars(query)])


def version() -> int:
    return read(current_site_version)


class Public:
    def __init__(self, base: str):
        self.base = base

    def v2(self, path: str) -> dict:
        resp = requests.get(f"{self.base}/api/v2/{path}", timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def html(self, path: str) -> str:
        resp = requests.get(self.base + path, timeout=10)
        assert resp.status_code == 200
        return resp.text

    def component(self, slug: str) -> dict:
        return next(c for c in self.v2("components.json")["components"] if c["id"] == slug)


def test_components_and_groups(app, sp, live_server):
    public = Public(live_server.url)
    page = sp.get("")
    assert page["id"] == sp.page_id and page["time_zone"] == "UTC"
    before = version()
    api = sp.post("/components", json={"component": {"name": "Public API", "description": "REST API"}})
    web = sp.post("/components", form={"component[name]": "Web app", "component[showcase]": "false"})
    search = sp.post("/components.json", form={"component[name]": "Search",
                                               "component[only_show_if_degraded]": "true"})
    assert (api["id"], api["status"], api["group"], api["page_id"]) == ("public-api", "operational", False, sp.page_id)
    assert web["showcase"] is False and search["only_show_if_degraded"] is True
    assert version() > before
    names = {c["id"]: c["name"] for c in public.v2("components.json")["components"]}
    assert names["public-api"] == "Public API" and names["web-app"] == "Web app"
    assert "search" not in names or public.component("search")["only_show_if_degraded"]

    group = sp.post("/component-groups", json={"component_group": {"name": "Core", "components": [api["id"], web["id"]]},
                                               "description": "Core platform"})
    assert group["components"] == [api["id"], web["id"]] and group["description"] == "Core platform"
    v2 = public.v2("components.json")["components"]
    core = next(c for c in v2 if c["id"] == group["id"])
    assert core["group"] is True and core["components"] == [api["id"], web["id"]]
    assert public.component(api["id"])["group_id"] == group["id"]

    sp.patch(f"/components/{api['id']}", form={"component[status]": "degraded_performance"})
    assert public.component(api["id"])["status"] == "degraded_performance"
    assert public.v2("status.json")["status"]["indicator"] == "minor"
    assert sp.get(f"/components/{api['id']}")["status"] == "degraded_performance"
    sp.put(f"/components/{api['id']}.json", json={"component": {"status": "operational", "description": "v2 API"}})
    assert public.component(api["id"])["description"] == "v2 API"

    renamed = sp.patch(f"/component-groups/{group['id']}", json={"component_group": {"name": "Core platform"}})
    assert renamed["name"] == "Core platform"
    sp.patch(f"/components/{web['id']}", form={"component[group_id]": "null"})
    assert public.component(web["id"])["group_id"] is None
    # display order: a new group goes to the end of the page, its members follow it
    assert [c["id"] for c in sp.get("/components")] == [web["id"], search["id"], group["id"], api["id"]]
    assert [c["id"] for c in sp.get("/components", params={"per_page": 1, "page": 2})] == [search["id"]]

    sp.delete(f"/components/{search['id']}", expect=204)
    assert sp.call("GET", f"/components/{search['id']}").status_code == 404
    deleted = sp.delete(f"/component-groups/{group['id']}", expect=200).json()
    assert deleted["id"] == group["id"]
    assert all(c["id"] != group["id"] for c in public.v2("components.json")["components"])
    assert public.component(api["id"])["group_id"] is None

    actions = audit_actions()
    assert ("component.create", "token") in actions and ("component_group.create", "token") in actions
    assert ("component.archive", "token") in actions and ("component_group.archive", "token") in actions


@pytest.fixture
def world(app, sp):
    """Two components, a confirmed subscriber of the first, and the public side of the instance."""
    api = sp.post("/components", json={"component": {"name": "API"}})["id"]
    web = sp.post("/components", json={"component": {"name": "Web"}})["id"]
    created = sp.post("/subscribers", json={"subscriber": {"email": "Ops@Customer.example", "component_ids": [api]}})
    assert created["email"] == "ops@customer.example" and created["components"] == [api]
    assert [m.recipient for m in outbox("subscribe_confirm")] == ["ops@customer.example"]
    assert sp.get("/subscribers")[:1] == []  # unconfirmed: not active yet
    assert [s["id"] for s in sp.get("/subscribers", params={"state": "unconfirmed"})] == [created["id"]]

    def confirm_by_link():
        confirm(db.session.get(Subscriber, int(created["id"])))

    read(confirm_by_link)
    assert [s["email"] for s in sp.get("/subscribers")] == ["ops@customer.example"]
    return api, web, created["id"]


def test_an_incident_from_declaration_to_postmortem(world, sp, live_server):
    api, web, _ = world
    public = Public(live_server.url)
    before = version()
    inc = sp.post("/incidents", form={
        "incident[name]": "Erhöhte Fehlerraten — API",
        "incident[status]": "investigating",
        "incident[body]": "We are investigating **elevated error rates**.",
        f"incident[components][{api}]": "major_outage",
        "incident[component_ids][]": web,
    })
    iid = inc["id"]
    assert (inc["status"], inc["impact"], inc["impact_override"]) == ("investigating", "critical", None)
    assert {c["id"]: c["status"] for c in inc["components"]} == {api: "major_outage", web: "operational"}
    assert {a["code"]: (a["old_status"], a["new_status"]) for a in inc["incident_updates"][0]["affected_components"]} \
        == {api: ("operational", "major_outage"), web: ("operational", "operational")}
    assert version() > before
    summary = public.v2("summary.json")
    assert [i["id"] for i in summary["incidents"]] == [iid]
    assert summary["status"]["indicator"] == "critical"
    assert public.component(api)["status"] == "major_outage"
    html = public.html(f"/incidents/{iid}")
    assert "Erhöhte Fehlerraten — API" in html and "<strong>elevated error rates</strong>" in html
    assert [m.recipient for m in outbox("incident_created")] == ["ops@customer.example"]

    steps = [("identified", "A bad deploy.", None),
             ("monitoring", "Rolled back; watching.", {api: "operational"}),
             ("resolved", "All good again.", None)]
    for status, body, components in steps:
        payload = {"incident": {"status": status, "body": body, **({"components": components} if components else {})}}
        got = sp.patch(f"/incidents/{iid}", json=payload)
        assert got["status"] == status and got["incident_updates"][0]["body"] == body
        v2 = public.v2("incidents/unresolved.json")["incidents"]
        listed = next(i for i in public.v2("incidents.json")["incidents"] if i["id"] == iid)
        assert listed["status"] == status and listed["incident_updates"][0]["body"] == body
        assert (iid in [i["id"] for i in v2]) == (status != "resolved")
        assert body in public.html(f"/incidents/{iid}")
    assert listed["monitoring_at"] is not None and listed["resolved_at"] is not None
    assert public.component(api)["status"] == "operational"
    assert [m.kind for m in outbox() if m.kind.startswith("incident_")] == [
        "incident_created", "incident_updated", "incident_updated", "incident_resolved"]

    first = sp.get(f"/incidents/{iid}")["incident_updates"][-1]
    sent = len(outbox())
    edited = sp.patch(f"/incidents/{iid}/incident_updates/{first['id']}",
                      json={"incident_update": {"body": "We are investigating *elevated* error rates.",
                                                "wants_twitter_update": False}})
    assert edited["body"] == "We are investigating *elevated* error rates." and edited["status"] == "investigating"
    assert "<em>elevated</em>" in public.html(f"/incidents/{iid}")
    assert len(outbox()) == sent  # a correction notifies nobody

    draft = sp.put(f"/incidents/{iid}/postmortem", json={"postmortem": {"body_draft": "##### Cause\nA **bad** deploy."}})
    assert draft["body_draft"] == "##### Cause\nA **bad** deploy." and draft["published_at"] is None
    assert "bad</strong> deploy" not in public.html(f"/incidents/{iid}")
    published = sp.put(f"/incidents/{iid}/postmortem/publish", form={"postmortem[notify_subscribers]": "true",
                                                                     "postmortem[notify_twitter]": "false"})
    assert published["published_at"] is not None and published["body"] == draft["body_draft"]
    assert "<strong>bad</strong> deploy" in public.html(f"/incidents/{iid}")
    assert next(i for i in public.v2("incidents.json")["incidents"] if i["id"] == iid)["status"] == "postmortem"
    compat = sp.get(f"/incidents/{iid}")
    assert compat["status"] == "resolved" and compat["postmortem_body"] == draft["body_draft"]
    assert compat["postmortem_published_at"] == published["published_at"]
    assert [m.recipient for m in outbox("postmortem_published")] == ["ops@customer.example"]
    reverted = sp.put(f"/incidents/{iid}/postmortem/revert")
    assert reverted["published_at"] is None
    assert "<strong>bad</strong> deploy" not in public.html(f"/incidents/{iid}")

    assert [i["id"] for i in sp.get("/incidents", params={"q": "watching"})] == [iid]
    assert sp.get("/incidents", params={"q": "nothing like this"}) == []
    actions = [a for a, who in audit_actions() if who == "token"]
    for wanted in ("incident.create", "incident.update", "incident.update_edit", "postmortem.publish",
                   "postmortem.unpublish"):
        assert wanted in actions


def test_a_scheduled_maintenance_is_a_scheduled_incident(world, sp, live_server):
    api, web, _ = world
    public = Public(live_server.url)
    start = utcnow().replace(microsecond=0) + dt.timedelta(days=1)
    m = sp.post("/incidents", json={"incident": {
        "name": "Database upgrade", "status": "scheduled", "body": "Expect **short** interruptions.",
        "scheduled_for": start.isoformat(), "scheduled_until": (start + dt.timedelta(hours=2)).isoformat(),
        "scheduled_remind_prior": True, "scheduled_auto_in_progress": True, "component_ids": [api, web],
        "auto_tweet_on_creation": False, "metadata": {"jira": {"issue_id": "OPS-1"}}}})
    assert (m["status"], m["impact"], m["scheduled_remind_prior"]) == ("scheduled", "maintenance", True)
    assert m["scheduled_for"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert [i["id"] for i in sp.get("/incidents/upcoming")] == [m["id"]]
    assert [i["id"] for i in sp.get("/incidents/scheduled")] == [m["id"]]
    assert sp.get("/incidents/active_maintenance") == [] and sp.get("/incidents/unresolved") == []
    assert [x["id"] for x in public.v2("scheduled-maintenances/upcoming.json")["scheduled_maintenances"]] == [m["id"]]
    assert [x.recipient for x in outbox("maintenance_scheduled")] == ["ops@customer.example"]

    started = sp.patch(f"/incidents/{m['id']}", form={"incident[status]": "in_progress",
                                                      "incident[body]": "Started early."})
    assert started["status"] == "in_progress"
    assert [i["id"] for i in sp.get("/incidents/active_maintenance")] == [m["id"]]
    assert public.component(web)["status"] == "under_maintenance"
    assert public.v2("status.json")["status"]["indicator"] == "maintenance"
    assert [x.recipient for x in outbox("maintenance_started")] == ["ops@customer.example"]
    assert "Started early." in public.html(f"/incidents/{m['id']}")
    longer = sp.patch(f"/incidents/{m['id']}", json={"incident": {
        "scheduled_until": (start + dt.timedelta(hours=3)).isoformat()}})
    assert longer["scheduled_until"] == (start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    done = sp.patch(f"/incidents/{m['id']}", json={"incident": {"status": "completed", "body": "Done."}})
    assert done["status"] == "completed" and done["resolved_at"] is not None
    assert public.component(web)["status"] == "operational"
    assert sp.get("/incidents/active_maintenance") == []
    listed = public.v2("scheduled-maintenances.json")["scheduled_maintenances"]
    assert [(x["id"], x["status"]) for x in listed] == [(m["id"], "completed")]
    moved = sp.call("PATCH", f"/incidents/{m['id']}", json={"incident": {
        "scheduled_for": (start - dt.timedelta(days=1)).isoformat()}})
    assert moved.status_code == 422 and "scheduled_for" in moved.json()["error"]


def test_subscribers_templates_page_and_deleting_an_incident(world, sp, live_server):
    api, web, confirmed = world
    public = Public(live_server.url)
    pending = sp.post("/subscribers", form={"subscriber[email]": "new@customer.example"})
    hook = sp.post("/subscribers", json={"subscriber": {"endpoint": "https://hooks.customer.example/status",
                                                        "component_ids": [web]}})
    assert hook["mode"] == "webhook" and hook["secret"].startswith("whsec_") and hook["components"] == [web]
    assert sp.get("/subscribers/count") == {"email": 1, "sms": 0, "webhook": 1, "slack": 0, "integration_partner": 0}
    assert sp.get("/subscribers/count", params={"state": "all", "type": "email"}) == {"email": 2}
    histogram = sp.get("/subscribers/histogram_by_state")
    assert histogram["email"] == {"active": 1, "unconfirmed": 1, "quarantined": 0, "total": 2}
    assert [s["email"] for s in sp.get("/subscribers", params={"q": "NEW@", "state": "all"})] == ["new@customer.example"]
    assert sp.get(f"/subscribers/{confirmed}")["components"] == [api]
    assert sp.patch(f"/subscribers/{confirmed}", json={"component_ids": [api, web]})["components"] == [api, web]

    assert sp.post(f"/subscribers/{pending['id']}/resend_confirmation") is None
    assert ("subscriber.resend_confirmation", "token") in audit_actions()
    gone = sp.delete(f"/subscribers/{confirmed}", expect=200).json()
    assert gone["id"] == confirmed
    assert [s["id"] for s in sp.get("/subscribers/unsubscribed")] == [confirmed]
    assert sp.get("/subscribers/count", params={"state": "all"})["email"] == 1

    tpl = sp.post("/incident_templates", json={"template": {
        "name": "Elevated errors", "title": "Elevated error rates", "body": "We are investigating.",
        "update_status": "investigating", "should_tweet": False, "component_ids": [api]}})
    assert (tpl["name"], tpl["update_status"]) == ("Elevated errors", "investigating")
    assert [t["id"] for t in sp.get("/incident_templates")] == [tpl["id"]]
    assert read(lambda: db.session.scalar(select(UpdateTemplate.title))) == "Elevated error rates"

    renamed = sp.patch("", json={"page": {"name": "Acme Status", "time_zone": "Europe/Berlin",
                                          "css_greens": "#00ff00"}})
    assert renamed["name"] == "Acme Status"
    assert public.v2("status.json")["page"] == {**public.v2("status.json")["page"], "name": "Acme Status",
                                                "time_zone": "Europe/Berlin"}

    inc = sp.post("/incidents", json={"incident": {"name": "False alarm", "components": {api: "partial_outage"},
                                                   "deliver_notifications": False}})
    assert public.component(api)["status"] == "partial_outage"
    deleted = sp.delete(f"/incidents/{inc['id']}", expect=200).json()
    assert deleted["id"] == inc["id"] and deleted["name"] == "False alarm"
    assert sp.call("GET", f"/incidents/{inc['id']}").status_code == 404
    assert public.component(api)["status"] == "operational"
    assert all(i["id"] != inc["id"] for i in public.v2("incidents.json")["incidents"])
    assert ("incident.delete", "token") in audit_actions()
    assert read(lambda: db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == "incident_created", OutboxMessage.incident_id.is_(None)))) == 0
