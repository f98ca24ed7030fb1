"""/api/v2 follows Statuspage's public format: paths, field names, types and enums (table-driven)."""

import re

import pytest

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
OPT_TIME = ("time", None)

PAGE = {"id": str, "name": str, "url": str, "time_zone": str, "updated_at": "time"}
COMPONENT = {"id": str, "name": str, "status": COMPONENT_STATUSES, "created_at": "time", "updated_at": "time",
             "position": int, "description": (str, None), "showcase": bool, "start_date": (str, None),
             "group_id": (str, None), "page_id": str, "group": bool, "only_show_if_degraded": bool}
UPDATE = {"id": str, "status": INCIDENT_STATUSES | MAINTENANCE_STATUSES, "body": str, "incident_id": str,
          "created_at": "time", "updated_at": "time", "display_at": "time", "affected_components": (list, None),
          "deliver_notifications": bool, "custom_tweet": (str, None), "tweet_id": (str, None)}
INCIDENT = {"id": str, "name": str, "status": INCIDENT_STATUSES, "created_at": "time", "updated_at": "time",
            "monitoring_at": OPT_TIME, "resolved_at": OPT_TIME, "impact": {"none", "minor", "major", "critical"},
            "shortlink": str, "started_at": "time", "page_id": str, "incident_updates": list, "components": list}
MAINTENANCE = {**INCIDENT, "status": MAINTENANCE_STATUSES, "impact": {"maintenance"},
               "scheduled_for": "time", "scheduled_until": "time"}


def check(obj: dict, schema: dict, where: str) -> None:
    assert set(obj) >= set(schema), f"{where}: missing {set(schema) - set(obj)}"
    for key, rule in schema.items():
        value = obj[key]
        rules = rule if isinstance(rule, tuple) else (rule,)
        ok = False
        for r in rules:
            if r is None:
                ok |= value is None
            elif r == "time":
                ok |= isinstance(value, str) and bool(ISO.match(value))
            elif isinstance(r, set):
                ok |= value in r
            else:
                ok |= isinstance(value, r) and not (r is int and isinstance(value, bool))
        assert ok, f"{where}.{key} = {value!r} does not match {rule!r}"


def check_incident(inc: dict, schema: dict) -> None:
    check(inc, schema, f"incident {inc['name']}")
    for u in inc["incident_updates"]:
        check(u, UPDATE, "update")
        for ac in u["affected_components"] or []:
            assert set(ac) == {"code", "name", "old_status", "new_status"}
            assert ac["new_status"] in COMPONENT_STATUSES
    times = [u["display_at"] for u in inc["incident_updates"]]
    assert times == sorted(times, reverse=True), "incident_updates newest first"
    for c in inc["components"]:
        check(c, COMPONENT, "incident component")


CASES = [
    # path, list key, item schema, names expected (in order)
    ("summary.json", "incidents", INCIDENT, ["API errors"]),
    ("incidents.json", "incidents", INCIDENT, ["API errors", "Login failures"]),
    ("incidents/unresolved.json", "incidents", INCIDENT, ["API errors"]),
    ("scheduled-maintenances.json", "scheduled_maintenances", MAINTENANCE,
     ["Network maintenance", "Database upgrade"]),
    ("scheduled-maintenances/upcoming.json", "scheduled_maintenances", MAINTENANCE, ["Database upgrade"]),
    ("scheduled-maintenances/active.json", "scheduled_maintenances", MAINTENANCE, ["Network maintenance"]),
    ("components.json", "components", COMPONENT, ["Core platform", "Public API", "Web app", "CDN"]),
    ("status.json", None, None, None),
]


@pytest.mark.parametrize("path,key,schema,names", CASES, ids=[c[0] for c in CASES])
def test_endpoint_matches_statuspage_format(site, client, path, key, schema, names):
    resp = client.get(f"/api/v2/{path}")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    body = resp.json
    check(body["page"], PAGE, "page")
    assert body["page"]["id"] == "acmepage" and body["page"]["name"] == "Acme Cloud"
    if key is None:
        assert set(body) == {"page", "status"}
        return
    items = body[key]
    if key == "components":
        for c in items:
            check(c, COMPONENT, c["name"])
    elif path != "scheduled-maintenances.json" or True:
        for item in items:
            check_incident(item, schema)
    if path == "scheduled-maintenances.json":
        assert sorted(i["name"] for i in items) == sorted(names)
    else:
        assert [i["name"] for i in items] == names


def test_summary_has_status_components_incidents_and_maintenance(site, client):
    body = client.get("/api/v2/summary.json").json
    assert set(body) == {"page", "components", "incidents", "scheduled_maintenances", "status"}
    assert body["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert {m["name"] for m in body["scheduled_maintenances"]} == {"Database upgrade", "Network maintenance"}
    assert body["status"]["indicator"] in INDICATORS


def test_groups_list_their_components_and_children_point_back(site, client):
    comps = {c["id"]: c for c in client.get("/api/v2/components.json").json["components"]}
    assert comps["core"]["group"] is True and comps["core"]["components"] == ["api", "web"]
    assert comps["core"]["status"] == "partial_outage"  # worst child
    assert comps["api"]["group_id"] == "core" and comps["cdn"]["group_id"] is None
    assert comps["cdn"]["start_date"] == "2024-01-02"
    assert [c["position"] for c in comps.values()] == [1, 2, 3, 4]
    assert "backups" not in comps


def test_drafts_internal_updates_and_internal_components_never_appear(site, client):
    for path in ("summary.json", "incidents.json", "incidents/unresolved.json", "components.json"):
        text = client.get(f"/api/v2/{path}").get_data(as_text=True)
        assert "Draft: something odd" not in text
        assert "10.0.0.5" not in text and "db-7" not in text
        assert "Backups" not in text and '"backups"' not in text
    inc = client.get("/api/v2/incidents/unresolved.json").json["incidents"][0]
    assert [u["status"] for u in inc["incident_updates"]] == ["identified", "investigating"]
    assert inc["incident_updates"][1]["affected_components"] == [
        {"code": "api", "name": "Public API", "old_status": "operational", "new_status": "partial_outage"}]
    assert inc["shortlink"] == f"http://status.test/incidents/{site.open.public_id}"


def test_cancelled_maintenance_is_left_out(site, client):
    text = client.get("/api/v2/scheduled-maintenances.json").get_data(as_text=True)
    assert "Cancelled window" not in text


def test_an_unknown_api_path_is_a_json_404(client):
    resp = client.get("/api/v2/pages.json")
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "not_found"


@pytest.mark.parametrize("statuses,impacts,maintenance,expected", [
    ([], [], False, ("none", "All Systems Operational")),
    (["degraded_performance"], [], False, ("minor", "Minor Service Outage")),
    (["partial_outage"], [], False, ("major", "Partial System Outage")),
    (["major_outage", "degraded_performance"], [], False, ("critical", "Major System Outage")),
    (["under_maintenance"], [], True, ("maintenance", "Service Under Maintenance")),
    ([], ["minor"], True, ("minor", "Minor Service Outage")),
    ([], ["critical"], False, ("critical", "Major System Outage")),
    ([], [("critical", "identified")], False, ("critical", "Major System Outage")),
    ([], ["none"], False, ("none", "All Systems Operational")),
    # A fix is in place: the headline follows the components, not the incident's impact.
    (["operational"], [("major", "monitoring")], False, ("none", "All Systems Operational")),
    (["partial_outage"], [("critical", "monitoring")], False, ("major", "Partial System Outage")),
    ([], [("critical", "monitoring"), ("minor", "investigating")], False, ("minor", "Minor Service Outage")),
], ids=["all-up", "degraded", "partial", "major", "maintenance", "incident-beats-maintenance",
        "critical-incident", "critical-identified", "no-impact-incident", "monitoring-all-operational",
        "monitoring-component-still-partial", "monitoring-and-investigating"])
def test_the_overall_indicator_is_derived_like_statuspage(app, statuses, impacts, maintenance, expected):
    from types import SimpleNamespace

    from statuspage.services.site.public import INDICATOR_DESCRIPTIONS, overall_status

    comps = [SimpleNamespace(status=s) for s in statuses]
    incs = [SimpleNamespace(effective_impact=i[0], status=i[1], name=f"incident {n}") if isinstance(i, tuple)
            else SimpleNamespace(effective_impact=i, status="investigating", name=f"incident {n}")
            for n, i in enumerate(impacts)]
    result = overall_status(comps, incs, [object()] if maintenance else [])
    assert (result.indicator, result.description) == expected
    assert result.indicator in INDICATORS and result.description in INDICATOR_DESCRIPTIONS.values()
    assert result.monitoring == tuple(i.name for i in incs if i.status == "monitoring")
