"""Benchmark: rows and bytes a day per 1,000 checks of check history, on PostgreSQL.

Folds one day of 60-s runs of 1,000 HTTP checks through the same code the worker uses
(``rollups.fold_run`` → hourly ``check_rollup`` rows, then ``rollup_and_prune`` for the daily ones),
stores 100 failing runs per check as ``check_result`` rows, and reports rows and bytes per row
(``pg_total_relation_size``: table + indexes).

    python bench/check_storage.py [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Creates and drops its own database ``sp_bench_storage``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHECKS = 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text('DROP DATABASE IF EXISTS "sp_bench_storage" WITH (FORCE)'))
        conn.execute(sa.text('CREATE DATABASE "sp_bench_storage"'))
    url = sa.engine.make_url(args.pg_url).set(database="sp_bench_storage").render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="sp-bench-storage-"))
    env = {**os.environ, "STATUSPAGE_INSTANCE_PATH": str(work), "SECRET_KEY": "bench-" + "x" * 30,
           "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    cfg = work / "bench.yml"
    cfg.write_text("page: {name: Bench}\ncomponents:\n  - id: c\n    name: C\n    auto_incident: 'off'\n    checks:\n"
                   + "".join(f"      - {{id: k{i}, kind: http, url: 'https://api{i}.example.com/health', "
                             f"interval: 60s, timeout: 5s}}\n" for i in range(CHECKS)))
    cli = [sys.executable, "-m", "statuspage.cli"]
    subprocess.run(cli + ["db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(cli + ["config", "apply", str(cfg)], env=env, check=True, capture_output=True)
    os.environ.update({k: env[k] for k in ("STATUSPAGE_INSTANCE_PATH", "SECRET_KEY", "DATABASE_URL")})

    from statuspage import create_app
    from statuspage.extensions import db
    from statuspage.models import Check, CheckResult
    from statuspage.services.monitoring.rollups import fold_run, rollup_and_prune, write_rollups

    app = create_app()
    with app.app_context():
        ids = db.session.scalars(sa.select(Check.id)).all()
        day = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        rows = []
        for check_id in ids:
            stats = None
            for minute in range(24 * 60 + 1):  # the last run closes the day's last hour
                stats, finished = fold_run(check_id, stats, day + dt.timedelta(minutes=minute), "up",
                                           random.uniform(20, 80))
                if finished:
                    rows.append(finished)
        write_rollups(rows)
        db.session.commit()
        rollup_and_prune(day + dt.timedelta(days=2), retention_days=3650)
        failing = [{"check_id": check_id, "scheduled_for": day + dt.timedelta(minutes=k),
                    "started_at": day + dt.timedelta(minutes=k), "worker_id": "host-1:12345:abcdef",
                    "outcome": "down", "latency_ms": 5000.0, "status_code": None, "error_class": "timeout",
                    "message": "no response from 10.0.0.1:443 within the 5s timeout",
                    "conditions": [{"text": "[STATUS] < 400", "resolved": "[STATUS] (?) < 400", "ok": False,
                                    "severity": "down",
                                    "error": "[STATUS]: not available: no HTTP response was received"}]}
                   for check_id in ids for k in range(100)]
        db.session.execute(CheckResult.__table__.insert(), failing)
        db.session.commit()
        print(f"{'table (period)':28} {'rows':>9} {'bytes/row':>10}")
        for label, table, where in (("check_rollup (hour)", "check_rollup", "period = 'hour'"),
                                    ("check_rollup (day)", "check_rollup", "period = 'day'"),
                                    ("check_result (failing runs)", "check_result", "true")):
            n = db.session.scalar(sa.text(f"select count(*) from {table} where {where}"))
            total = db.session.scalar(sa.text(f"select count(*) from {table}"))
            size = db.session.scalar(sa.text(f"select pg_total_relation_size('{table}')"))
            print(f"{label:28} {n:>9} {size / total:>10.0f}")
    with admin.connect() as conn:
        conn.execute(sa.text('DROP DATABASE IF EXISTS "sp_bench_storage" WITH (FORCE)'))


if __name__ == "__main__":
    main()
