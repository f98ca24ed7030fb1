"""`statuspage sla report` prints CSV or JSON on stdout."""

import csv
import io
import json

from tests.accounts.scenario import build


def test_sla_report_csv_and_json_on_stdout(app, runner):
    build()
    out = runner.invoke(args=["sla", "report", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "csv"])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert [r["account"] for r in rows] == ["U-3", "G-1", "I-2", "H-4", "N-5"]
    globex = rows[1]
    assert (globex["uptime_percent"], globex["met"], globex["credit_percent"], globex["incident_count"]) == (
        "99.74", "no", "10", "3")
    assert (globex["period_minutes"], globex["monitored_minutes"], globex["coverage_percent"], globex["result"]) == (
        "44640.00", "44640.00", "100.00", "breached")
    one = runner.invoke(args=["sla", "report", "--from", "2026-03-01", "--account", "I-2", "--format", "json"])
    data = json.loads(one.output)
    assert [a["account"] for a in data["accounts"]] == ["I-2"] and data["accounts"][0]["breached"] is True
    bad = runner.invoke(args=["sla", "report", "--from", "yesterday"])
    assert bad.exit_code == 2 and "expected a date" in bad.output
