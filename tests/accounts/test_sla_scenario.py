"""The hand-computed scenario (see tests/accounts/scenario.py for the timeline).

March 2026 has 44,640 minutes. Weighted down minutes = major + 0.3 × partial, over the account's
components combined (a minute counts at the worst status of any of them; it is maintenance, and
left out of the period, only when all of them are under maintenance).
"""

from decimal import Decimal
from fractions import Fraction

import pytest

from statuspage.models import OutboxMessage
from statuspage.services.accounts.impact import affected_accounts, incident_impact
from statuspage.services.accounts.sla import month_period, sla_report
from statuspage.services.notifications.account_mail import enqueue_account_notifications
from tests.accounts.scenario import T, build
from tests.support import factories as f

MARCH = 44640
NOW = T("2026-05-01 00:00")


@pytest.fixture
def s(app):
    return build()


def march():
    start, end = month_period(2026, 3)
    return sla_report(start, end, now=NOW)


def test_it_computes_each_accounts_march_uptime_exactly(s):
    report = march()
    # Globex api+db: 60 major (A) + 0.3 × (120 partial (B) + 60 partial (C)) = 114; db's maintenance
    # 22:00–24:00 on the 31st is not excluded because api was up then.
    g = report.row("G-1")
    assert g.uptime.exact == 1 - Fraction(114, MARCH)   # 99.74462…%
    assert g.uptime_percent == 99.74 and g.uptime_text == "99.74%"  # rounded down, as every surface shows it
    assert g.downtime_minutes == pytest.approx(114)
    # Umbrella api+db+web: 60 (A) + 0.3×120 (B) + C: 12:00–12:30 major (30) then 12:30–13:15 partial (45).
    assert report.row("U-3").uptime.exact == 1 - (90 + Fraction(3, 10) * 165) / MARCH  # 99.68750…%
    assert report.row("U-3").uptime_percent == 99.68
    assert report.row("I-2").uptime.exact == 1 - Fraction(30, MARCH)  # 99.93279…%
    assert report.row("I-2").uptime_percent == 99.93
    assert report.row("H-4").uptime_percent == 100.0
    # Nakatomi uses db only: its 120 maintenance minutes in March leave the period.
    n = report.row("N-5")
    assert n.uptime.exact == 1 - Fraction(36, MARCH - 120) and n.uptime_percent == 99.91  # 99.91913…%
    d = n.to_dict()
    assert (d["maintenance_minutes"], d["monitored_minutes"], d["counted_minutes"]) == (120, MARCH, MARCH - 120)
    assert d["period"] == {"from": "2026-03-01T00:00:00+00:00", "to": "2026-04-01T00:00:00+00:00",
                           "minutes": MARCH, "complete": True}
    assert d["coverage_percent"] == 100.0
    assert (d["major_outage_minutes"], d["partial_outage_minutes"], d["degraded_performance_minutes"]) == (0, 120, 0)


def test_it_decides_breaches_and_credits_from_the_ladder(s):
    report = march()
    got = {r.external_id: (r.met, r.credit_percent) for r in report.rows}
    assert got == {
        "G-1": (False, 10.0),   # 99.74 % < 99.9 target; first rule below it: < 99.9 → 10 %
        "U-3": (True, 0.0),     # 99.68 % ≥ 99.0
        "I-2": (False, 0.0),    # 99.93 % < 99.95 target, but no rule of the ladder is above it
        "H-4": (True, 0.0),
        "N-5": (None, 0.0),     # no target, no SLA
    }
    assert [r.external_id for r in report.rows] == ["U-3", "G-1", "I-2", "H-4", "N-5"]  # by ARR


def test_it_lists_the_incidents_that_counted_and_none_of_the_maintenance(s):
    report = march()
    names = {r.external_id: [i.name for i in r.incidents] for r in report.rows}
    assert names == {"G-1": ["API down", "Slow database", "Web and API errors"],
                     "U-3": ["API down", "Slow database", "Web and API errors"],
                     "I-2": ["Web and API errors"], "H-4": [], "N-5": ["Slow database"]}


def test_the_maintenance_window_is_split_at_the_month_boundary(s):
    start, end = month_period(2026, 4)
    april = sla_report(start, end, now=NOW)
    row = april.row("N-5")
    assert row.to_dict()["maintenance_minutes"] == 120  # 00:00–02:00 on April 1st
    assert row.to_dict()["counted_minutes"] == 30 * 1440 - 120
    assert row.uptime_percent == pytest.approx(100.0)
    assert april.row("G-1").incidents == []


def test_it_lists_affected_accounts_with_arr_at_risk_and_outage_minutes(s):
    a = incident_impact(s.a, NOW)
    assert [(x.external_id, x.outage_minutes) for x in a.accounts] == [("U-3", 60), ("G-1", 60)]
    assert a.total_arr == Decimal(420000)
    b = incident_impact(s.b, NOW)
    assert [(x.external_id, x.outage_minutes) for x in b.accounts] == [("U-3", 120), ("G-1", 120), ("N-5", 120)]
    assert b.total_arr == Decimal(425000)
    c = incident_impact(s.c, NOW)
    # Umbrella: web major 12:00–12:30 ∪ api partial 12:15–13:15 = 75 minutes, counted once.
    assert [(x.external_id, x.outage_minutes, x.worst_status) for x in c.accounts] == [
        ("U-3", 75, "major_outage"), ("G-1", 60, "partial_outage"), ("I-2", 30, "major_outage")]
    assert c.total_arr == Decimal(470000)
    assert [x.components for x in c.accounts][0] == ["Public API", "Web app"]


def test_outage_minutes_so_far_stop_at_now_during_the_incident(s):
    during = affected_accounts(s.c, T("2026-03-20 12:20"))
    assert {x.external_id: x.outage_minutes for x in during} == {"U-3": 20, "G-1": 5, "I-2": 20}


def _digests(incident):
    rows = OutboxMessage.query.filter_by(kind="account_team_digest", incident_id=incident.id).all()
    return {r.recipient: [a["id"] for a in r.payload["accounts"]] for r in rows}, rows


def test_each_internal_digest_reaches_only_the_owners_and_team_of_affected_accounts(s, app):
    amy = f.user("account_manager", "amy@acme.test")
    from statuspage.services.accounts.watches import watch
    from statuspage.services.audit import Actor

    watch(amy, s.initech, actor=Actor.system())
    carl = f.user("account_manager", "carl@acme.test")
    watch(carl, None, actor=Actor.system())  # all his accounts: Hooli, untouched by C
    upd = f.update(s.c, "We are investigating errors on the web app.", status="investigating",
                   at=T("2026-03-20 12:05"))
    n = enqueue_account_notifications("incident_created", s.c, upd, now=NOW)
    digests, rows = _digests(s.c)
    assert digests == {
        "jane@acme.test": ["U-3", "G-1"],       # owner of both, one email listing both
        "sam@acme.test": ["U-3"],
        "csm-emea@acme.test": ["G-1"],
        "bob@acme.test": ["I-2"],
        "amy@acme.test": ["I-2"],                # an account manager watching Initech
    }
    assert len(rows) == 5
    jane = next(r for r in rows if r.recipient == "jane@acme.test")
    assert jane.payload["total_arr"] == 420000
    assert jane.audience == "team" and jane.channel == "email"
    contacts = {r.recipient for r in OutboxMessage.query.filter_by(kind="account_contact", incident_id=s.c.id)}
    # Incident C is major: the "major only" contacts hear of it; "none" never does.
    assert contacts == {"ops@globex.test", "cto@globex.test", "it@initech.test", "ops@umbrella.test"}
    assert n == 9
    # The same update again writes nothing (dedupe key per recipient per update).
    assert enqueue_account_notifications("incident_created", s.c, upd, now=NOW) == 0


def test_a_minor_incident_reaches_only_contacts_who_want_every_incident(s):
    upd = f.update(s.b, "The database is slow.", status="investigating", at=T("2026-03-15 08:05"))
    enqueue_account_notifications("incident_created", s.b, upd, now=NOW)
    contacts = {r.recipient for r in OutboxMessage.query.filter_by(kind="account_contact", incident_id=s.b.id)}
    assert contacts == {"ops@globex.test", "ops@umbrella.test"}
    digests, _ = _digests(s.b)
    assert digests == {"jane@acme.test": ["U-3", "G-1"], "sam@acme.test": ["U-3"], "csm-emea@acme.test": ["G-1"]}


def test_maintenance_notices_go_to_contacts_of_accounts_using_the_components_in_the_window(s):
    upd = f.update(s.m, "We will upgrade the database.", status="scheduled", at=T("2026-03-29 10:00"))
    enqueue_account_notifications("maintenance_scheduled", s.m, upd, now=T("2026-03-29 10:00"))
    rows = OutboxMessage.query.filter_by(incident_id=s.m.id).all()
    assert {r.recipient for r in rows} == {"ops@globex.test", "ops@umbrella.test"}
    assert {r.kind for r in rows} == {"account_contact"}  # no internal digest for maintenance
