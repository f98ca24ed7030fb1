"""Helpers for the probe-location tests: a three-location config, probe tokens, posting results."""

from __future__ import annotations

import datetime as dt

from statuspage.configfile import parse_config
from statuspage.services.config_sync import apply_config
from statuspage.services.users import create_token

THREE = """
page: {{name: Acme, on_call: oncall@acme.example}}
locations:
  - {{id: eu-west, name: Frankfurt, stale_after: 60s}}
  - {{id: us-east, name: Virginia, stale_after: 60s}}
components:
  - id: api
    name: Public API
    auto_incident: {auto}
    locations: [local, eu-west, us-east]
    {component_extra}
    checks:
      - id: api-health
        kind: http
        url: "{url}"
        interval: 30s
        timeout: 2s
        failure_threshold: 1
        success_threshold: 1
        {check_extra}
accounts:
  - id: CRM-EU
    name: Euro Corp
    owner: jane@acme.example
    components: [api]
    locations: [eu-west]
  - id: CRM-US
    name: Yankee Inc
    owner: joe@acme.example
    components: [api]
    locations: [us-east]
"""


def apply_three(url: str = "http://127.0.0.1:9/health", *, auto: str = "draft", component_extra: str = "",
                check_extra: str = "") -> None:
    apply_config(parse_config(THREE.format(url=url, auto=auto, component_extra=component_extra,
                                           check_extra=check_extra), env={}))


def probe_tokens(*locations: str) -> dict[str, str]:
    return {loc: create_token(f"agent {loc}", "probe", location=loc)[1] for loc in locations}


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def result(check_id: int, slot: dt.datetime, outcome: str = "up", **extra) -> dict:
    body = {"check_id": check_id, "slot": iso(slot), "started_at": iso(slot), "outcome": outcome,
            "latency_ms": 12.5, "status_code": 200 if outcome == "up" else 503,
            "error_class": None if outcome == "up" else "http",
            "message": "ok" if outcome == "up" else "[STATUS] (503) < 400"}
    body.update(extra)
    return body


def post(client, location: str, token: str, results: list[dict], agent: dict | None = None):
    return client.post(f"/api/v1/probe/{location}/results", json={"agent": agent or {"version": "test"},
                                                                   "results": results},
                       headers={"Authorization": f"Bearer {token}"})


def record_local(check_id: int, slot: dt.datetime, outcome: str = "up") -> None:
    """A result of the local worker (its own location), through the same recording path, committed."""
    from checks.result import ProbeResult
    from statuspage.extensions import db
    from statuspage.services.monitoring.locations import LocationRow, local_location, record_location_results

    res = ProbeResult(outcome=outcome, latency_ms=10.0, status_code=200 if outcome == "up" else 503,
                      message="ok" if outcome == "up" else "[STATUS] (503) < 400")
    record_location_results(local_location(), [LocationRow(check_id, slot, slot, res)], now=slot)
    db.session.commit()


def text_of(html: str, xpath: str | None = None) -> str:
    """What a reader sees: the visible text of the page (or of the elements matching ``xpath``), one
    space between words; visually hidden text (for screen readers) is left in, scripts are not."""
    from lxml import html as lxml_html

    root = lxml_html.fromstring(html)
    for bad in root.xpath("//script|//style|//template"):
        bad.drop_tree()
    nodes = root.xpath(xpath) if xpath else [root]
    return " ".join(" ".join(n.text_content().split()) for n in nodes)
