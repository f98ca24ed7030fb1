"""Benchmark: one worker process versus two on PostgreSQL, and how fast a killed worker's claims are taken over.

    python bench/replicas.py [--checks 3000] [--interval 5] [--window 30] [--messages 4000]

1. Checks: N HTTP checks against nginx on 127.0.0.1, run by one worker, then by two; results per second
   in a steady window (and duplicates: probes nginx saw minus results recorded).
2. Deliveries: one incident update fanned out to M subscribers, delivered to a counting SMTP sink by
   one worker, then (a fresh update) by two; messages per second.
3. Takeover: a worker holding claims is killed with SIGKILL; a second worker is already running on the
   same host; time until the dead worker holds no claim any more (the survivor sees its pid gone and
   releases them at its next heartbeat, or, from another host, its leases expire).

On 2 cores the GIL bounds one process; nginx, PostgreSQL and the SMTP sink share the same cores, so two
workers cannot quite double. Talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/public_page.py would shadow the `public` package that aiosmtpd imports.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_checks", ROOT / "bench" / "checks.py")
bench_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_checks)  # type: ignore[union-attr]


def sink(port: int, counter) -> None:
    """A counting SMTP sink (aiosmtpd) in its own process."""
    from aiosmtpd.controller import Controller

    class Count:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            with counter.get_lock():
                counter.value += len(envelope.rcpt_tos)
            return "250 OK"

    Controller(Count(), hostname="127.0.0.1", port=port).start()
    asyncio.new_event_loop().run_forever()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checks", type=int, default=3000)
    ap.add_argument("--interval", type=int, default=5)
    ap.add_argument("--window", type=float, default=30.0)
    ap.add_argument("--messages", type=int, default=4000)
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()

    import sqlalchemy as sa

    work = Path(tempfile.mkdtemp(prefix="sp-bench-replicas-"))
    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text('DROP DATABASE IF EXISTS "sp_bench_replicas" WITH (FORCE)'))
        conn.execute(sa.text('CREATE DATABASE "sp_bench_replicas"'))
    url = sa.engine.make_url(args.pg_url).set(database="sp_bench_replicas").render_as_string(hide_password=False)
    smtp_port = bench_checks.free_port()
    counter = multiprocessing.Value("l", 0)
    sink_proc = multiprocessing.Process(target=sink, args=(smtp_port, counter), daemon=True)
    sink_proc.start()
    nginx, port, access_log = bench_checks.start_nginx(work)
    env = {**os.environ, "STATUSPAGE_INSTANCE_PATH": str(work / "instance"), "SECRET_KEY": "bench-" + "x" * 30,
           "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "STATUSPAGE_SMTP_HOST": "127.0.0.1",
           "STATUSPAGE_SMTP_PORT": str(smtp_port), "STATUSPAGE_PUBLIC_URL": "http://status.bench.test"}
    os.environ.update({k: v for k, v in env.items() if k.startswith(("STATUSPAGE", "DATABASE", "SECRET"))})
    cli = [sys.executable, "-m", "statuspage.cli"]
    rows = []
    try:
        subprocess.run(cli + ["db", "upgrade"], env=env, check=True, capture_output=True)
        cfg = work / "bench.yml"
        with open(cfg, "w") as fh:
            fh.write("page: {name: Bench}\ncomponents:\n")
            for c in range(0, args.checks, 100):
                fh.write(f"  - id: c{c // 100}\n    name: C{c // 100}\n    auto_incident: 'off'\n    checks:\n")
                for i in range(c, min(args.checks, c + 100)):
                    fh.write(f"      - {{id: k{i}, kind: http, url: 'http://127.0.0.1:{port}/k/{i}', "
                             f"interval: {args.interval}s, timeout: 5s}}\n")
        subprocess.run(cli + ["config", "apply", str(cfg)], env=env, check=True, capture_output=True)

        from sqlalchemy import func, select

        from statuspage import create_app
        from statuspage.extensions import db
        from statuspage.models import Check, CheckResult

        app = create_app()

        def results_between(t0, t1) -> int:
            with app.app_context():
                n = db.session.scalar(select(func.count()).select_from(CheckResult)
                                      .where(CheckResult.started_at >= t0, CheckResult.started_at < t1))
                db.session.remove()
                return int(n or 0)

        def run_workers(n: int, seconds: float, extra_env: dict | None = None) -> list[subprocess.Popen]:
            return [subprocess.Popen(cli + ["worker"], env={**env, **(extra_env or {})}, stdout=subprocess.DEVNULL,
                                     stderr=open(work / f"w{n}-{i}.log", "w")) for i in range(n)]

        def stop(procs):
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=120)

        from datetime import UTC, datetime

        # 1. checks: one worker, then two
        check_rates = {}
        for n in (1, 2):
            procs = run_workers(n, args.window)
            time.sleep(args.interval * 2 + 5)  # past the first slots and the start-up
            t0 = datetime.now(UTC)
            time.sleep(args.window)
            t1 = datetime.now(UTC)
            stop(procs)
            check_rates[n] = results_between(t0, t1) / args.window
        with app.app_context():
            total_results = db.session.scalar(select(func.count()).select_from(CheckResult))
            db.session.remove()
        probes = sum(bench_checks.count_lines(access_log, "/k/").values())
        rows.append(("checks/s (demand " + format(args.checks / args.interval, ".0f") + "/s)",
                     check_rates[1], check_rates[2]))

        # 2. deliveries: fan-out to M subscribers, one worker then two
        from sqlalchemy import insert

        from statuspage.db import utcnow
        from statuspage.models import Subscriber
        from statuspage.services.audit import Actor
        from statuspage.services.incidents.lifecycle import declare_incident, post_update

        with app.app_context():
            now = utcnow()
            db.session.execute(insert(Subscriber), [
                {"kind": "email", "email": f"u{i}@bench.test", "all_components": True, "confirmed_at": now,
                 "created_at": now, "token_version": 1, "failure_count": 0, "webhook_format": "statuspage"}
                for i in range(args.messages)])
            db.session.commit()
            inc = declare_incident(name="Bench", impact="major", components={}, body="x",
                                   actor=Actor.system("bench"))
            inc_id = inc.public_id
            db.session.remove()
        delivery_rates = {}
        for n in (1, 2):
            with app.app_context():
                from statuspage.models import Component, Incident

                inc = db.session.scalar(select(Incident).where(Incident.public_id == inc_id))
                comp = db.session.scalar(select(Component).limit(1))
                start_count = counter.value
                post_update(inc, status="identified", body=f"round {n}", components={comp: "partial_outage"},
                            notify_subscribers=True, actor=Actor.system("bench"))
                from statuspage.models import OutboxMessage

                expected = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                             .where(OutboxMessage.status == "pending"))
                db.session.remove()
            procs = run_workers(n, 0, {"STATUSPAGE_WORKER_BATCH": "500"})
            t = time.monotonic()
            while counter.value - start_count < expected and time.monotonic() - t < 600:
                time.sleep(0.05)
            elapsed = time.monotonic() - t
            stop(procs)
            delivery_rates[n] = (counter.value - start_count) / elapsed
        rows.append(("messages/s (incl. worker start-up)", delivery_rates[1], delivery_rates[2]))

        # 3. takeover after SIGKILL
        survivor = run_workers(1, 0)
        victim = run_workers(1, 0)[0]
        time.sleep(args.interval * 2 + 5)
        with app.app_context():
            held_before = db.session.scalar(select(func.count()).select_from(Check).where(
                Check.claimed_by.is_not(None)))
            db.session.remove()
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = time.monotonic()
        with app.app_context():
            from statuspage.models import WorkerHeartbeat

            dead_ids = [w.id for w in db.session.scalars(select(WorkerHeartbeat).where(
                WorkerHeartbeat.pid == victim.pid))]
            held = db.session.scalar(select(func.count()).select_from(Check).where(Check.claimed_by.in_(dead_ids)))
            db.session.remove()
        takeover = None
        while time.monotonic() - killed_at < 300:
            with app.app_context():
                left = db.session.scalar(select(func.count()).select_from(Check).where(
                    Check.claimed_by.in_(dead_ids)))
                db.session.remove()
            if not left:
                takeover = time.monotonic() - killed_at
                break
            time.sleep(0.5)
        stop(survivor)

        print()
        print(f"PostgreSQL, 2 CPUs shared with nginx, PostgreSQL and the SMTP sink; {args.checks} checks every "
              f"{args.interval}s; {args.messages} messages per round")
        print(f"{'figure':40} {'1 worker':>10} {'2 workers':>10} {'ratio':>7}")
        for name, one, two in rows:
            print(f"{name:40} {one:>10.1f} {two:>10.1f} {two / one:>7.2f}")
        print(f"duplicate check runs (probes seen by nginx − results): {probes - total_results}")
        print(f"claims held by the killed worker: {held} (all workers: {held_before}); "
              f"taken over {takeover:.1f} s after SIGKILL" if takeover is not None else "not taken over in 300 s")
        print("(a claim is a lease of slot + 2 × timeout + 30 s; these checks have a 5 s timeout; the survivor "
              "runs on the same host, so it releases a dead sibling's claims at its next 5 s heartbeat)")
    finally:
        nginx.terminate()
        sink_proc.terminate()


if __name__ == "__main__":
    main()
