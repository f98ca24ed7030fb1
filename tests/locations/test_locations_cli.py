"""`statuspage token create --scope probe --location …` and `statuspage locations`."""

import datetime as dt
import json

from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import ApiToken, ProbeLocation

from .helpers import apply_three
from .test_locations_console import _below_quorum


def test_a_probe_token_from_the_cli_is_bound_to_its_location_and_works(app, client, runner):
    apply_three()
    out = runner.invoke(args=["token", "create", "--name", "fra agent", "--scope", "probe", "--location", "eu-west"])
    assert out.exit_code == 0, out.output
    plaintext = out.stdout.strip()
    row = db.session.scalar(select(ApiToken))
    assert row.scope == "probe" and row.location == "eu-west"
    resp = client.get("/api/v1/probe/eu-west/checks", headers={"Authorization": f"Bearer {plaintext}"})
    assert resp.status_code == 200


def test_the_cli_refuses_a_probe_token_without_a_location_and_a_location_on_other_tokens(app, runner):
    missing = runner.invoke(args=["token", "create", "--name", "agent", "--scope", "probe"])
    assert missing.exit_code == 2 and "add --location NAME" in missing.output
    stray = runner.invoke(args=["token", "create", "--name", "bot", "--scope", "read", "--location", "eu-west"])
    assert stray.exit_code == 2 and "--location is for probe tokens only" in stray.output
    bad = runner.invoke(args=["token", "create", "--name", "agent", "--scope", "probe", "--location", "EU West"])
    assert bad.exit_code == 1 and "lowercase letters" in bad.output
    assert db.session.scalar(select(ApiToken)) is None


def test_locations_lists_them_like_the_page(app, client, runner):
    _below_quorum(client)
    loc = db.session.scalar(select(ProbeLocation).where(ProbeLocation.slug == "us-east"))
    loc.last_report_at = loc.last_report_at - dt.timedelta(minutes=10)
    db.session.commit()
    out = runner.invoke(args=["locations"])
    assert out.exit_code == 0, out.output
    lines = {line.split()[0]: line for line in out.output.splitlines()[1:]}
    assert list(lines) == ["local", "eu-west", "us-east"]
    assert "never reported" in lines["local"]
    assert "fresh" in lines["eu-west"] and "1.4.2 probe-fra-1 127.0.0.1" in lines["eu-west"]
    assert "stale since" in lines["us-east"] and "ago" in lines["us-east"]
    as_json = json.loads(runner.invoke(args=["locations", "--json"]).output)
    assert [r["id"] for r in as_json] == ["local", "eu-west", "us-east"] and as_json[2]["stale"]
