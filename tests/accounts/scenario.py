"""The hand-computed scenario of tests/accounts/test_sla_scenario.py (also used by other tests).

Page in UTC, partial-outage weight 0.3, credit ladder: below 99.0 → 25 %, below 99.9 → 10 %.
Components api, db, web, cdn are operational from 2026-02-01, except:

* incident A "API down"        api major_outage   03-10 10:00–11:00            (impact critical)
* incident B "Slow database"   db partial_outage  03-15 08:00–10:00            (impact minor)
* incident C "Web and API errors" web major_outage 03-20 12:00–12:30,
                                  api partial_outage 03-20 12:15–13:15         (impact major)
* maintenance M "DB upgrade"   db under_maintenance 03-31 22:00 – 04-01 02:00  (across the month boundary)

Accounts (ARR, target, owner, team, contacts with notify):
G-1 Globex   api+db      120 000  99.9   jane  [csm-emea]  ops@globex all, cto@globex major
I-2 Initech  web          50 000  99.95  bob   []          it@initech major
U-3 Umbrella api+db+web  300 000  99.0   jane  [sam]       sec@umbrella none, ops@umbrella all
H-4 Hooli    cdn          10 000  99.9   carl  []          —
N-5 Nakatomi db            5 000  none   —     []          —
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from statuspage.extensions import db
from tests.support import factories as f

T = f.T


def build() -> SimpleNamespace:
    f.page(name="Acme Cloud", time_zone="UTC", partial_outage_weight=0.3,
           settings={"currency": "USD", "sla_credits": [{"below": 99.0, "credit_percent": 25.0},
                                                        {"below": 99.9, "credit_percent": 10.0}]})
    api, dbc, web, cdn = (f.component(n, slug=s) for n, s in
                          (("Public API", "api"), ("Database", "db"), ("Web app", "web"), ("CDN", "cdn")))
    f.timeline(api, ("2026-02-01 00:00", "operational"), ("2026-03-10 10:00", "major_outage"),
               ("2026-03-10 11:00", "operational"), ("2026-03-20 12:15", "partial_outage"),
               ("2026-03-20 13:15", "operational"))
    f.timeline(dbc, ("2026-02-01 00:00", "operational"), ("2026-03-15 08:00", "partial_outage"),
               ("2026-03-15 10:00", "operational"), ("2026-03-31 22:00", "under_maintenance"),
               ("2026-04-01 02:00", "operational"))
    f.timeline(web, ("2026-02-01 00:00", "operational"), ("2026-03-20 12:00", "major_outage"),
               ("2026-03-20 12:30", "operational"))
    f.timeline(cdn, ("2026-02-01 00:00", "operational"))
    a = f.incident("API down", components={api: "major_outage"}, impact="critical", status="resolved",
                   started_at=T("2026-03-10 10:00"), resolved_at=T("2026-03-10 11:00"))
    b = f.incident("Slow database", components={dbc: "partial_outage"}, impact="minor", status="resolved",
                   started_at=T("2026-03-15 08:00"), resolved_at=T("2026-03-15 10:00"))
    c = f.incident("Web and API errors", components={web: "major_outage", api: "partial_outage"}, impact="major",
                   status="resolved", started_at=T("2026-03-20 12:00"), resolved_at=T("2026-03-20 13:15"))
    m = f.maintenance("DB upgrade", start=T("2026-03-31 22:00"), end=T("2026-04-01 02:00"), status="completed",
                      components={dbc: 1})
    globex = f.account("G-1", "Globex", components=[api, dbc], arr=120000, sla_target=99.9,
                       owner="jane@acme.test", team=["csm-emea@acme.test"],
                       contacts=[("ops@globex.test", "all"), ("cto@globex.test", "major")],
                       renewal_date=dt.date(2026, 6, 1), tier="enterprise")
    initech = f.account("I-2", "Initech", components=[web], arr=50000, sla_target=99.95, owner="bob@acme.test",
                        contacts=[("it@initech.test", "major")], tier="growth")
    umbrella = f.account("U-3", "Umbrella", components=[api, dbc, web], arr=300000, sla_target=99.0,
                         owner="jane@acme.test", team=["sam@acme.test"],
                         contacts=[("sec@umbrella.test", "none"), ("ops@umbrella.test", "all")], tier="enterprise")
    hooli = f.account("H-4", "Hooli", components=[cdn], arr=10000, sla_target=99.9, owner="carl@acme.test")
    nakatomi = f.account("N-5", "Nakatomi", components=[dbc], arr=5000)
    db.session.commit()
    return SimpleNamespace(api=api, db=dbc, web=web, cdn=cdn, a=a, b=b, c=c, m=m, globex=globex, initech=initech,
                           umbrella=umbrella, hooli=hooli, nakatomi=nakatomi)
