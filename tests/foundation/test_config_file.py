"""The configuration file is validated at load; every error is listed with its path."""

from pathlib import Path

import pytest

from statuspage.configfile import ConfigFileError, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "statuspage.yml"


def test_the_shipped_example_is_valid():
    doc = parse_config(EXAMPLE.read_text(), env={})
    assert doc.page.name == "Acme Cloud"
    assert [c.id for c in doc.components][:2] == ["api", "web"]
    assert len(doc.accounts) == 5
    assert {a.id for a in doc.accounts} >= {"CRM-0001", "CRM-0005"}
    assert doc.sla_credits[0] == {"below": 99.0, "credit_percent": 25.0}


BROKEN = """
page:
  name: Acme
  time_zone: Mars/Olympus
  uptime: {partial_outage_weight: 3}
groups:
  - {id: core, name: Core}
  - {id: core, name: Again}
components:
  - id: api
    name: API
    group: nowhere
    colour: blue
    checks:
      - {id: c1, kind: http, url: "http://x.example/", interval: 1s}
      - {id: c1, kind: http, url: "http://x.example/"}
  - id: Bad Slug
    name: X
  - id: db
    name: DB
    checks:
      - {id: c3, kind: tcp, host: db.example}
      - {id: c4, kind: http, url: "http://x.example/", conditions: ["[STAUS] == 200"]}
accounts:
  - {id: A1, name: Globex, arr: lots, components: [api, nope], contacts: [{email: not-an-email}]}
  - {name: No id}
"""


def test_a_broken_file_lists_every_error_with_its_path():
    with pytest.raises(ConfigFileError) as info:
        parse_config(BROKEN, env={})
    errors = "\n".join(info.value.errors)
    for expected in [
        "page.time_zone: unknown IANA time zone 'Mars/Olympus'",
        "page.uptime.partial_outage_weight: must be ≤ 1",
        "groups[1].id: duplicate group id 'core'",
        "components[0].group: unknown group 'nowhere'",
        "components[0].colour: unknown key",
        "components[0].checks[0].interval",
        "components[0].checks[1].id: duplicate check id 'c1'",
        "components[1].id: must be a slug",
        "components[2].checks[0].port",
        "components[2].checks[1].conditions[0]",
        "accounts[0].arr: expected a number",
        "accounts[0].components[1]: unknown component 'nope'",
        "accounts[0].contacts[0].email: not an email address",
        "accounts[1].id: required",
    ]:
        assert expected in errors, f"missing {expected!r} in:\n{errors}"


def test_env_vars_expand_and_dollar_dollar_is_literal():
    text = """
page: {name: "${COMPANY} status", on_call: "${ONCALL}"}
components:
  - id: api
    name: "Costs $${5}"
"""
    doc = parse_config(text, env={"COMPANY": "Acme", "ONCALL": "oncall@acme.example"})
    assert doc.page.name == "Acme status"
    assert doc.page.on_call == "oncall@acme.example"
    assert doc.components[0].name == "Costs ${5}"


def test_a_missing_env_var_is_an_error_naming_the_path():
    with pytest.raises(ConfigFileError) as info:
        parse_config("page: {name: '${NOPE}'}", env={})
    assert info.value.errors == ["page.name: environment variable NOPE is not set",
                                 "page.name: must not be empty"]


def test_invalid_yaml_names_the_line():
    with pytest.raises(ConfigFileError) as info:
        parse_config("page:\n  name: [unclosed\n", env={})
    assert info.value.errors[0].startswith("line ")


def test_unknown_top_level_keys_are_errors():
    with pytest.raises(ConfigFileError) as info:
        parse_config("page: {name: A}\ncomponent: []\n", env={})
    assert "component: unknown key" in info.value.errors[0]
