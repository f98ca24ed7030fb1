"""An account on three components with overlapping incidents, driven through the incident service.

Europe/Berlin; api, db and web are monitored since 2026-02-01 00:00 CET (01-31 23:00 UTC), no checks.
On 2026-03-10 (UTC):

* "API down"       api major_outage            10:00–11:00 (critical)
* "Slow database"  db partial_outage           10:30–12:00 (minor)
* "Slow web app"   web degraded_performance    10:45–11:15 (minor)

Umbrella (U-3) uses all three. Combined, a minute counts at the worst status: 10:00–11:00 major (60),
11:00–12:00 partial (60); the degraded half hour is under them (and weighs 0 anyway).
Weighted downtime 60 + 0.3 × 60 = 78 minutes. March in Berlin = 44,580 minutes, all monitored:
1 − 78/44,580 = 99.8250…% → 99.82%: below Umbrella's 99.9 → breached, credit 10 %. Globex (G-1) uses
api and db: the same 78 minutes; its target 99.5 is met.

Per component over 90 days at 04-02 10:00 UTC: monitored since 01-31 23:00 UTC = 60 days 11 hours =
87,060 minutes: api 1 − 60/87,060 = 99.931…% → 99.93%; db 1 − 0.3 × 90/87,060 = 99.968…% → 99.96%;
web 100.00% (degraded counts as up).
"""

import pytest
from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import OutboxMessage
from statuspage.services.audit import Actor
from statuspage.services.incidents import lifecycle
from statuspage.services.notifications.account_mail import render_account_message
from statuspage.services.page import get_page
from tests.support import factories as f
from tests.uptime import surfaces as s
from tests.uptime.conftest import berlin_page

T = f.T
SYSTEM = Actor.system()


@pytest.fixture
def incidents(app, clock):
    clock(T("2026-03-01 09:00"))
    berlin_page()
    comps = {slug: f.component(name, slug=slug, since=T("2026-01-31 23:00"))
             for slug, name in (("api", "Public API"), ("db", "Database"), ("web", "Web app"))}
    f.account("U-3", "Umbrella", components=list(comps.values()), arr=300000, sla_target=99.9,
              owner="jane@acme.test", contacts=[("ops@umbrella.test", "all")])
    f.account("G-1", "Globex", components=[comps["api"], comps["db"]], arr=120000, sla_target=99.5,
              owner="jane@acme.test")
    db.session.commit()
    steps = [("10:00", "declare", "API down", "critical", {"api": "major_outage"}),
             ("10:30", "declare", "Slow database", "minor", {"db": "partial_outage"}),
             ("10:45", "declare", "Slow web app", "minor", {"web": "degraded_performance"}),
             ("11:00", "resolve", "API down", None, None),
             ("11:15", "resolve", "Slow web app", None, None),
             ("12:00", "resolve", "Slow database", None, None)]
    made = {}
    for at, action, name, impact, components in steps:
        clock(T(f"2026-03-10 {at}"))
        if action == "declare":
            made[name] = lifecycle.declare_incident(name=name, impact=impact, components=components,
                                                    body=f"{name}: investigating.", actor=SYSTEM)
        else:
            lifecycle.post_update(made[name], status="resolved", body="Resolved.", actor=SYSTEM)
    return comps, made


def test_the_march_sla_combines_the_three_components(incidents, app, client, runner, clock):
    clock(T("2026-04-02 10:00"))
    umbrella = s.sla_everywhere(app, client, runner, "U-3", "2026-03-01", "2026-03-31")
    s.assert_sla_row_agrees(umbrella, uptime="99.82%", coverage="100.00%", verdict_text="breached", credit=10.0,
                            monitored_minutes=44580, period_minutes=44580)
    row = umbrella["api"]
    assert (row["major_outage_minutes"], row["partial_outage_minutes"], row["degraded_performance_minutes"],
            row["downtime_minutes"]) == (60, 60, 0, 78)
    assert [i["name"] for i in row["incidents"]] == ["API down", "Slow database", "Slow web app"]
    globex = s.sla_everywhere(app, client, runner, "G-1", "2026-03-01", "2026-03-31")
    s.assert_sla_row_agrees(globex, uptime="99.82%", coverage="100.00%", verdict_text="met", credit=0.0,
                            monitored_minutes=44580, period_minutes=44580)
    assert [i["name"] for i in globex["api"]["incidents"]] == ["API down", "Slow database"]


def test_each_component_shows_one_figure_everywhere(incidents, app, client, clock, tmp_path):
    clock(T("2026-04-02 10:00"))
    for slug, figure in (("api", "99.93%"), ("db", "99.96%"), ("web", "100.00%")):
        read = s.read_public(app, client, slug, tmp_path / slug, account="U-3")
        assert set(s.ninety_day_figures(read, slug).values()) == {figure}, slug
        assert s.ninety_day_words(read, slug) == {f"{figure} uptime over the 60 days since monitoring began"}


def test_the_private_view_gives_the_month_so_far_with_its_verdict(incidents, client, clock):
    from statuspage.services.accounts.private_links import account_view_token
    from statuspage.services.accounts.records import get_account

    clock(T("2026-03-31 12:00"))
    card = s.sla_card(client.get(f"/a/{account_view_token(get_account('U-3'))}").get_data(as_text=True))
    # March so far: 02-28 23:00 → 03-31 12:00 UTC = 43,980 of 44,580 minutes (98.65…% ≥ 90: a verdict);
    # 1 − 78/43,980 = 99.8226…% → 99.82%.
    assert (card["uptime"], card["target"], card["verdict"]) == ("99.82%", "99.9%", "Below target so far")
    assert "uptime so far (98.65% of the month monitored)" in " ".join(card["text"].split())


def test_the_digests_count_outage_minutes_with_the_same_computation(incidents):
    _, made = incidents
    rows = {r.payload["incident"]["name"]: r for r in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "account_team_digest",
                                    OutboxMessage.recipient == "jane@acme.test")
        .order_by(OutboxMessage.id)) if r.payload["event"] == "incident_resolved"}
    minutes = {name: {a["id"]: a["outage_minutes"] for a in row.payload["accounts"]} for name, row in rows.items()}
    # Each incident's affected components, from its start until it was resolved: degraded does not count.
    assert minutes == {"API down": {"U-3": 60, "G-1": 60}, "Slow database": {"U-3": 90, "G-1": 90},
                       "Slow web app": {"U-3": 0}}
    _, text, _, _ = render_account_message(rows["Slow database"], get_page(), "http://status.test")
    assert "outage: 90 min" in text  # resolved: the digest no longer says "so far"
    assert "Mar 10, 2026 13:00 CET" in text  # the update's time, in the page's zone with its abbreviation
