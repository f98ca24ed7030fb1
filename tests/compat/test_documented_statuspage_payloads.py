"""Payloads shaped after Statuspage's documented examples parse, import, and are what our API answers.

The fixture file holds payloads written from the published OpenAPI description's schemas and examples,
quirks included (see its ``_about``). A real HTTP server answers with them as Statuspage would, the
importer reads them, and our own answers carry every documented field.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy import func, select
from werkzeug.wrappers import Request, Response

from statuspage.extensions import db
from statuspage.models import Component, ComponentGroup, Incident, OutboxMessage, Subscriber, UpdateTemplate
from statuspage.services.incidents.components import create_component, create_group
from statuspage.services.incidents.lifecycle import declare_incident, post_update
from statuspage.services.incidents.postmortems import get_or_create_postmortem, save_postmortem
from statuspage.services.incidents.templates import save_template
from statuspage.services.notifications.subscriptions import request_subscription
from statuspage.services.statuspage_import import StatuspageClient, run_import
from statuspage.services.statuspage_import.payloads import (
    id_list,
    parse_component,
    parse_group,
    parse_incident,
    parse_subscriber,
    parse_template,
    postmortem_draft,
)
from statuspage.services.statuspage_import.structure import display_order
from tests.support.factories import ALICE
from tests.support.live import LiveServer

EXAMPLES = json.loads((Path(__file__).parent / "fixtures" / "statuspage_documented_examples.json").read_text())
PAGE = EXAMPLES["page"]["id"]
UTC = dt.UTC


def test_components_and_groups_parse_with_their_documented_quirks():
    group = parse_group(EXAMPLES["component_groups"][0])
    assert (group.id, group.position, group.components) == ("j6r0t80d2psz", 1, ("8kbf7d35c070", "vtnh60py4yd7"))
    comps = [parse_component(c) for c in EXAMPLES["components"]]
    assert [c.is_group for c in comps] == [False, False, True, False]
    assert comps[1].only_show_if_degraded and not comps[1].showcase and comps[1].status == "degraded_performance"
    assert comps[0].start_date == dt.date(2000, 1, 23) and comps[1].start_date is None
    order = [(p.kind, p.source.id, p.position) for p in display_order([group], comps)]
    assert order == [("group", "j6r0t80d2psz", 0), ("component", "8kbf7d35c070", 1),
                     ("component", "vtnh60py4yd7", 2), ("component", "0frwxtbsbr91", 3)]
    assert id_list('["a","b"]') == ["a", "b"] and id_list(["a", {"id": "b"}]) == ["a", "b"] and id_list(None) == []


def test_incidents_parse_scheduled_and_realtime():
    maint = parse_incident(EXAMPLES["incidents"][0])
    assert maint.is_maintenance and maint.status == "completed"
    assert (maint.scheduled_for, maint.scheduled_until) == (dt.datetime(2013, 5, 7, 3, 0, 0, 7000, UTC),
                                                           dt.datetime(2013, 5, 7, 6, 0, 0, 7000, UTC))
    assert maint.postmortem_published_at is not None  # documented as a boolean: the flag is read
    assert [u.status for u in maint.updates] == ["completed", "in_progress", "scheduled"]
    assert maint.updates[2].affected_components == ()
    real = parse_incident(EXAMPLES["incidents"][1])
    assert not real.is_maintenance and real.created_at == dt.datetime(2013, 4, 21, 19, 7, 16, tzinfo=UTC)
    assert real.postmortem_published_at == dt.datetime(2013, 4, 22, 16, 0, tzinfo=UTC)
    assert real.updates[1].affected_components[0].new_status == "major_outage"
    assert real.monitoring_at == dt.datetime(2013, 4, 21, 19, 30, tzinfo=UTC)


def test_templates_subscribers_and_postmortems_parse():
    tpl = parse_template(EXAMPLES["incident_templates"][0])
    assert (tpl.name, tpl.title, tpl.update_status) == ("Database trouble", "Database errors", "investigating")
    email, slack = (parse_subscriber(s) for s in EXAMPLES["subscribers"])
    assert (email.mode, email.email, email.components) == ("email", "foo@example2.com", ("8kbf7d35c070",))
    assert (slack.mode, slack.email, slack.components) == ("slack", None, ())
    assert postmortem_draft(EXAMPLES["postmortem"]) == "body_draft" and postmortem_draft({"body_draft": ""}) is None


class FakeStatuspage:
    """A WSGI app answering Statuspage's paths with the documented payloads (served over real HTTP)."""

    def __init__(self):
        base = f"/v1/pages/{PAGE}"
        self.routes = {
            f"{base}": EXAMPLES["page"], f"{base}/component-groups": EXAMPLES["component_groups"],
            f"{base}/components": EXAMPLES["components"], f"{base}/incident_templates": EXAMPLES["incident_templates"],
            f"{base}/incidents": EXAMPLES["incidents"], f"{base}/incidents/scheduled": EXAMPLES["incidents"][:1],
            f"{base}/subscribers/count": {"email": 1}, f"{base}/subscribers/unsubscribed": [],
        }
        self.subscribers = {"active": EXAMPLES["subscribers"]}
        self.seen: list[str] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        query = {k: v[0] for k, v in parse_qs(request.query_string.decode()).items()}
        self.seen.append(request.full_path)
        if request.headers.get("Authorization") != "OAuth documented-key":
            return Response(json.dumps({"error": "Could not authenticate"}), 401)(environ, start_response)
        first = query.get("page") in (None, "0", "1")
        if request.path == f"/v1/pages/{PAGE}/subscribers":
            body = self.subscribers.get(query.get("state", "active"), []) if first else []
        elif request.path in self.routes:
            body = self.routes[request.path]
            body = body if first or not isinstance(body, list) else []
        else:
            return Response(json.dumps({"error": "not found"}), 404, mimetype="application/json")(environ, start_response)
        return Response(json.dumps(body), 200, mimetype="application/json")(environ, start_response)


@pytest.fixture
def statuspage():
    fake = FakeStatuspage()
    server = LiveServer(fake).start()
    fake.url = server.url + "/v1"
    yield fake
    server.stop()


def test_the_documented_payloads_import(app, statuspage):
    client = StatuspageClient(statuspage.url, "documented-key", PAGE, min_interval=0)
    report = run_import(client)
    assert report.problems == [], report.problems
    groups = db.session.scalars(select(ComponentGroup)).all()
    assert [(g.slug, g.name, g.source) for g in groups] == [("j6r0t80d2psz", "API Components", "import")]
    comps = {c.slug: c for c in db.session.scalars(select(Component))}
    assert comps["8kbf7d35c070"].group == groups[0] and comps["0frwxtbsbr91"].group is None
    assert sorted(comps, key=lambda s: comps[s].position) == ["8kbf7d35c070", "vtnh60py4yd7", "0frwxtbsbr91"]
    hooks = comps["vtnh60py4yd7"]
    assert (hooks.status, hooks.only_show_if_degraded, hooks.showcase) == ("degraded_performance", True, False)

    maint = db.session.scalar(select(Incident).where(Incident.public_id == "p31zjtct2jer"))
    assert (maint.kind, maint.status, maint.source) == ("maintenance", "completed", "import")
    assert maint.scheduled_until == dt.datetime(2013, 5, 7, 6, 0, 0, 7000, UTC) and len(maint.updates) == 3
    real = db.session.scalar(select(Incident).where(Incident.public_id == "r6mf8q4xz2nb"))
    assert (real.kind, real.status, real.impact) == ("incident", "postmortem", "major")
    assert real.postmortem.sections[0]["body"] == "The **primary** failed; the replica took over."
    assert sorted(u.public_id for u in real.updates) == ["d7p2ysf3lhbb", "tk3xj8qh5t9k"]
    assert db.session.scalar(select(UpdateTemplate.name)) == "Database trouble"
    sub = db.session.scalar(select(Subscriber))
    assert (sub.email, sub.state, [c.component_id for c in sub.components]) == (
        "foo@example2.com", "active", [comps["8kbf7d35c070"].id])
    assert report["subscriber"].skipped == 1  # the Slack subscriber
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    assert statuspage.seen and all("api_key" not in seen for seen in statuspage.seen)  # the key travels in a header


def _types_compatible(ours, documented) -> bool:
    if ours is None or documented is None:
        return True
    if isinstance(documented, bool) or isinstance(ours, bool):
        return isinstance(documented, bool) and isinstance(ours, bool)
    if isinstance(documented, int | float):
        return isinstance(ours, int | float)
    return type(ours) is type(documented)


# Where the published description's type and Statuspage's real answers differ, we answer like Statuspage
# does (an array of ids, an integer position, a timestamp for postmortem_published_at, an empty object
# for metadata, a Python-side page url of null).
DOCUMENTED_QUIRKS = {("component_group", "components"), ("component_group", "position"),
                     ("incident", "postmortem_published_at"), ("subscriber", "components")}


@pytest.fixture
def world(app):
    api = create_component(name="API", actor=ALICE)
    create_component(name="Web", actor=ALICE)
    create_group(name="Core", components=[api], actor=ALICE)
    inc = declare_incident(name="Outage", components={api: "major_outage"}, body="Looking.", actor=ALICE)
    post_update(inc, status="resolved", body="Fixed.", actor=ALICE)
    pm = get_or_create_postmortem(inc, actor=ALICE)
    save_postmortem(pm, actor=ALICE, sections={"summary": {"body": "Text.", "public": True}})
    save_template(name="t", title="T", body="b", status="investigating", actor=ALICE)
    request_subscription("sub@customer.example", [api.slug])
    return inc


def test_our_answers_carry_every_documented_field(app, client, tokens, page_id, world):
    headers = {"Authorization": f"OAuth {tokens[1]}"}

    def get(path):
        resp = client.get(f"/api/statuspage/v1/pages/{page_id}{path}", headers=headers)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.get_json()

    ours = {
        "page": get(""), "component": next(c for c in get("/components") if not c["group"]),
        "component_group": get("/component-groups")[0], "incident": get(f"/incidents/{world.public_id}"),
        "subscriber": get("/subscribers?state=all")[0], "template": get("/incident_templates")[0],
        "postmortem": get(f"/incidents/{world.public_id}/postmortem"), "subscriber_count": get("/subscribers/count"),
    }
    documented = {
        "page": EXAMPLES["page"], "component": EXAMPLES["components"][0],
        "component_group": EXAMPLES["component_groups"][0], "incident": EXAMPLES["incidents"][0],
        "subscriber": EXAMPLES["subscribers"][0], "template": EXAMPLES["incident_templates"][0],
        "postmortem": EXAMPLES["postmortem"], "subscriber_count": EXAMPLES["subscriber_count"],
    }
    for kind, example in documented.items():
        missing = set(example) - set(ours[kind])
        assert not missing, (kind, missing)
        wrong = [k for k in example if (kind, k) not in DOCUMENTED_QUIRKS and k != "metadata"
                 and not _types_compatible(ours[kind][k], example[k])]
        assert not wrong, (kind, {k: (ours[kind][k], example[k]) for k in wrong})
    update = ours["incident"]["incident_updates"][0]
    missing = set(EXAMPLES["incidents"][0]["incident_updates"][0]) - set(update)
    assert not missing, missing
    component = ours["incident"]["components"][0]
    assert set(EXAMPLES["components"][0]) <= set(component)
