"""Helpers for monitor tests: apply a small config and drive claim → probe → record with a chosen clock."""

from __future__ import annotations

import datetime as dt

from statuspage.configfile import parse_config
from statuspage.services.config_sync import apply_config
from statuspage.services.monitoring.claims import claim_due_checks
from statuspage.services.monitoring.results import probe_claimed, record_results


def apply_yaml(text: str):
    return apply_config(parse_config(text, env={}))


def one_component(url: str, *, check_extra: str = "", component_extra: str = "", interval: str = "10s") -> str:
    return f"""
page: {{name: Acme, on_call: oncall@acme.example}}
components:
  - id: api
    name: Public API
    {component_extra}
    checks:
      - id: api-health
        kind: http
        url: "{url}"
        interval: {interval}
        timeout: 2s
        {check_extra}
"""


def tick(now: dt.datetime, worker: str = "w1"):
    """Claim what is due at `now`, probe it for real, record the results as of `now`."""
    claimed = claim_due_checks(worker, now, lookahead=0)
    items = []
    for item in claimed:
        item.started_at = now
        items.append((item, probe_claimed(item, now)))
    return claimed, record_results(worker, items, now)
