"""Reports: incidents per month by cause and impact, MTTD/MTTA/MTTR with definitions on the page."""

import datetime as dt

from statuspage.services.incidents import lifecycle as svc
from statuspage.services.incidents import reports
from tests.support.console import login
from tests.support.factories import ALICE, make_components

NOW = dt.datetime(2026, 4, 15, tzinfo=dt.UTC)


def test_monthly_means_follow_the_stated_definitions(app, client):
    make_components("api")
    start = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)
    inc = svc.declare_incident(name="A", impact="major", actor=ALICE, now=start + dt.timedelta(minutes=10))
    svc.edit_incident(inc, actor=ALICE, timestamps={
        "started_at": start, "detected_at": start + dt.timedelta(minutes=4),
        "acknowledged_at": start + dt.timedelta(minutes=10)})
    svc.post_update(inc, status="resolved", actor=ALICE, now=start + dt.timedelta(hours=1))
    inc.cause_category = "network"
    rows = {r.month: r for r in reports.monthly_report(3, NOW)}
    march = rows["2026-03"]
    assert march.count == 1 and march.by_impact == {"major": 1} and march.by_cause == {"network": 1}
    assert (march.mttd, march.mtta, march.mttr) == (240, 360, 3600)
    assert rows["2026-04"].count == 0 and rows["2026-04"].mttr is None
    login(client, "viewer")
    html = client.get("/admin/reports").get_data(as_text=True)
    assert "detected − started" in html and "acknowledged − detected" in html and "resolved − started" in html
