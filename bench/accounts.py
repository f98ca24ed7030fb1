"""Benchmark: impact of one incident on 200 components, and the monthly SLA report, for N accounts.

For each database (SQLite file, PostgreSQL) and each N (default 5,000 and 50,000) it builds, with bulk
inserts: 200 components with a month of status history (~10 outages each), N accounts each using one of
500 component "plans" (3–8 components; many accounts share a plan, as customers of one product tier
do), one team member per account, and one incident touching all 200 components. Then it times

* ``incident_impact(incident)`` — every account is affected: the list with ARR, team and outage minutes;
* ``sla_report(March)`` — uptime, target, credit and incidents of every account.

    PYTHONPATH=. python bench/accounts.py [--sizes 5000,50000] [--db sqlite,postgresql] [--repeat 3]

PostgreSQL comes from TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test); a scratch
database ``sp_bench_accounts`` is created and dropped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMPONENTS = 200
PLANS = 500
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 4, 2, tzinfo=dt.UTC)


def pg_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def make_database(kind: str, workdir: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        path = workdir / f"bench-{time.monotonic_ns()}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    admin = sa.engine.make_url(pg_url())
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text('DROP DATABASE IF EXISTS "sp_bench_accounts" WITH (FORCE)'))
        conn.execute(sa.text('CREATE DATABASE "sp_bench_accounts"'))

    def drop():
        with engine.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS "sp_bench_accounts" WITH (FORCE)'))
        engine.dispose()

    return admin.set(database="sp_bench_accounts").render_as_string(hide_password=False), drop


def build(n_accounts: int, seed: int = 7) -> int:
    """Bulk-insert the data set; returns the incident id."""
    from statuspage.extensions import db
    from statuspage.models import (
        Account,
        AccountComponent,
        AccountTeamMember,
        Component,
        ComponentStatusInterval,
        Incident,
        IncidentComponent,
        Page,
    )

    rnd = random.Random(seed)
    s = db.session
    s.execute(sa.insert(Page.__table__), [{"id": 1, "name": "Bench", "time_zone": "UTC", "partial_outage_weight": 0.3,
                                           "degraded_weight": 0.0, "public_id": "bench", "settings": {
                                               "sla_credits": [{"below": 99.0, "credit_percent": 25},
                                                               {"below": 99.9, "credit_percent": 10}]}}])
    s.execute(sa.insert(Component.__table__), [
        {"id": i + 1, "slug": f"c{i}", "name": f"Component {i}", "position": i, "public": True, "showcase": True,
         "only_show_if_degraded": False, "auto_incident": "draft", "status": "operational",
         "status_source": "check", "check_status": "operational"} for i in range(COMPONENTS)])
    intervals = []
    for cid in range(1, COMPONENTS + 1):
        cursor = START - dt.timedelta(days=30)
        outages = sorted(START + dt.timedelta(minutes=rnd.randint(0, 30 * 1440)) for _ in range(10))
        for began in outages:
            if began <= cursor:
                continue
            length = dt.timedelta(minutes=rnd.randint(5, 120))
            intervals.append({"component_id": cid, "status": "operational", "source": "check",
                              "started_at": cursor, "ended_at": began})
            intervals.append({"component_id": cid, "status": rnd.choice(["major_outage", "partial_outage",
                                                                         "degraded_performance"]),
                              "source": "check", "started_at": began, "ended_at": began + length})
            cursor = began + length
        intervals.append({"component_id": cid, "status": "operational", "source": "check", "started_at": cursor,
                          "ended_at": None})
    s.execute(sa.insert(ComponentStatusInterval.__table__), intervals)
    plans = [rnd.sample(range(1, COMPONENTS + 1), rnd.randint(3, 8)) for _ in range(PLANS)]
    accounts, links, team = [], [], []
    for i in range(1, n_accounts + 1):
        accounts.append({"id": i, "external_id": f"CRM-{i:06d}", "name": f"Customer {i}",
                         "arr": Decimal(rnd.randint(1, 500) * 1000), "tier": rnd.choice(["growth", "enterprise"]),
                         "sla_target": Decimal("99.9"), "owner_email": f"am{i % 200}@acme.test", "source": "import",
                         "view_token_version": 1})
        links += [{"account_id": i, "component_id": c} for c in plans[i % PLANS]]
        team.append({"account_id": i, "email": f"csm{i % 50}@acme.test"})
    for rows, table in ((accounts, Account.__table__), (links, AccountComponent.__table__),
                        (team, AccountTeamMember.__table__)):
        for k in range(0, len(rows), 5000):
            s.execute(sa.insert(table), rows[k:k + 5000])
    began = START + dt.timedelta(days=12)
    s.execute(sa.insert(Incident.__table__), [{
        "id": 1, "public_id": "bench1", "kind": "incident", "name": "Everything is down", "status": "resolved",
        "impact": "critical", "created_at": began, "published_at": began, "started_at": began,
        "resolved_at": began + dt.timedelta(hours=2), "source": "manual", "notify": True, "auto_transition": True}])
    s.execute(sa.insert(IncidentComponent.__table__), [{"incident_id": 1, "component_id": c, "status": "major_outage"}
                                                       for c in range(1, COMPONENTS + 1)])
    s.commit()
    return 1


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(kind: str, n: int, repeat: int, workdir: Path) -> dict:
    from statuspage import create_app
    from statuspage.extensions import db
    from statuspage.services.accounts.impact import incident_impact
    from statuspage.services.accounts.sla import sla_report

    url, drop = make_database(kind, workdir)
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-0123456789", "STATUSPAGE_INSTANCE_PATH": str(workdir)}
    app = create_app(env=env)
    try:
        with app.app_context():
            db.create_all()
            t0 = time.perf_counter()
            build(n)
            build_s = time.perf_counter() - t0
            from statuspage.models import Incident

            inc = db.session.get(Incident, 1)
            impact = incident_impact(inc, NOW)
            assert len(impact.accounts) == n
            report = sla_report(START, END, now=NOW)
            assert len(report.rows) == n
            impact_s = timed(lambda: (db.session.expire_all(), incident_impact(inc, NOW)), repeat)
            sla_s = timed(lambda: sla_report(START, END, now=NOW), repeat)
            breached = sum(1 for r in report.rows if r.breached)
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
    return {"db": kind, "accounts": n, "build_s": build_s, "impact_s": impact_s, "sla_s": sla_s,
            "breached": breached, "arr": float(impact.total_arr)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="5000,50000")
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.db.split(","):
            for n in sizes:
                r = run(kind, n, args.repeat, Path(tmp))
                results.append(r)
                print(f"{r['db']:10} {r['accounts']:>7} accounts: build {r['build_s']:6.1f} s, "
                      f"impact {r['impact_s'] * 1000:8.0f} ms, SLA report {r['sla_s'] * 1000:8.0f} ms", flush=True)
    print()
    print("| database | accounts | impact of one incident (200 components) | monthly SLA report | growth vs smallest |")
    print("|---|---:|---:|---:|---|")
    for r in results:
        base = next(x for x in results if x["db"] == r["db"] and x["accounts"] == min(sizes))
        scale = r["accounts"] / base["accounts"]
        growth = (f"×{scale:g} accounts → impact ×{r['impact_s'] / base['impact_s']:.1f}, "
                  f"SLA ×{r['sla_s'] / base['sla_s']:.1f}") if scale > 1 else "—"
        print(f"| {r['db']} | {r['accounts']:,} | {r['impact_s'] * 1000:,.0f} ms | {r['sla_s'] * 1000:,.0f} ms | {growth} |")


if __name__ == "__main__":
    main()
