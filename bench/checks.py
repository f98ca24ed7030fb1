"""Benchmark: N HTTP checks every INTERVAL seconds against a fast local target (nginx), in one run:

* our worker process(es) (`statuspage worker`: claim → probe → record, on SQLite or PostgreSQL):
  checks/s, start lag behind the scheduled slot (p50/p99), CPU cores used, CPU per check;
* a bare `requests` loop doing the same GETs (a session per thread, same thread count): CPU per check;
* the ratio of the two, and — with --workers 2 — how the work split and how many probes ran twice
  (nginx's access log counts every probe that reached it; results are unique per (check, slot)).

    python bench/checks.py --n 10000 --interval 60 --duration 150 [--db postgresql] [--workers 2]

Needs nginx (Debian: apt-get install -y nginx). Talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(workdir: Path) -> tuple[subprocess.Popen, int, Path]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        sys.exit("nginx is required: apt-get install -y nginx")
    port = free_port()
    log = workdir / "access.log"
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log {log};
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type application/json; return 200 '{{"status":"ok"}}'; }}
  }}
}}
""")
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(workdir)], stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            requests.get(f"http://127.0.0.1:{port}/ready", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    return proc, port, log


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime (all threads)


def count_lines(path: Path, prefix: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open(path) as fh:
        for line in fh:
            i = line.find('"GET ')
            if i < 0:
                continue
            p = line[i + 5:line.find(" ", i + 5)]
            if p.startswith(prefix):
                counts[p] = counts.get(p, 0) + 1
    return counts


def bare_loop(urls: list[str], threads: int, *, reuse: bool = True) -> tuple[float, float]:
    """The same GETs with plain requests. Returns (cpu seconds, wall seconds).

    reuse=True: a session per thread (keep-alive connections reused); reuse=False: a new connection per
    GET, as our probes do (they never reuse a connection, so a server's dropped keep-alive cannot cause
    a false alarm).
    """
    local = threading.local()

    def get(url: str) -> None:
        session = getattr(local, "session", None) if reuse else None
        if session is None:
            session = requests.Session()
            if reuse:
                local.session = session
        try:
            r = session.get(url, timeout=5)
            r.content  # noqa: B018
        except requests.RequestException:
            pass

    t0, c0 = time.monotonic(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(get, urls))
    return time.process_time() - c0, time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--interval", type=int, default=60)
    ap.add_argument("--duration", type=float, default=150.0, help="seconds the workers run")
    ap.add_argument("--warmup", type=float, default=None, help="seconds ignored at the start (default: interval + 5)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    # The first interval runs the slots that fell due while the config was applied: skip it.
    warmup = args.interval + 5 if args.warmup is None else args.warmup

    work = Path(tempfile.mkdtemp(prefix="sp-bench-checks-"))
    nginx, port, access_log = start_nginx(work)
    env = {**os.environ, "STATUSPAGE_INSTANCE_PATH": str(work / "instance"), "SECRET_KEY": "bench-" + "x" * 30,
           "STATUSPAGE_WORKER_THREADS": str(args.threads), "PYTHONPATH": str(ROOT)}
    if args.db == "postgresql":
        import sqlalchemy as sa

        admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text('DROP DATABASE IF EXISTS "sp_bench_checks" WITH (FORCE)'))
            conn.execute(sa.text('CREATE DATABASE "sp_bench_checks"'))
        env["DATABASE_URL"] = str(sa.engine.make_url(args.pg_url).set(database="sp_bench_checks")
                                  .render_as_string(hide_password=False))
    try:
        cfg = work / "bench.yml"
        with open(cfg, "w") as fh:
            fh.write("page: {name: Bench}\ncomponents:\n")
            per_component = 100
            for c in range(0, args.n, per_component):
                fh.write(f"  - id: c{c // per_component}\n    name: C{c // per_component}\n"
                         f"    auto_incident: 'off'\n    checks:\n")
                for i in range(c, min(args.n, c + per_component)):
                    fh.write(f"      - {{id: k{i}, kind: http, url: 'http://127.0.0.1:{port}/k/{i}', "
                             f"interval: {args.interval}s, timeout: 5s}}\n")
        cli = [sys.executable, "-m", "statuspage.cli"]
        subprocess.run(cli + ["db", "upgrade"], env=env, check=True, capture_output=True)
        t = time.monotonic()
        subprocess.run(cli + ["config", "apply", str(cfg)], env=env, check=True, capture_output=True)
        print(f"config apply of {args.n} checks: {time.monotonic() - t:.1f} s")

        # --- our engine ---
        access_log.write_text("")
        subprocess.run(["kill", "-USR1", Path(work / "nginx.pid").read_text().strip()], check=False)
        procs = [subprocess.Popen(cli + ["worker"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(work / f"worker{i}.log", "w")) for i in range(args.workers)]
        time.sleep(warmup)
        from datetime import UTC, datetime

        window_start = datetime.now(UTC)
        c0 = [cpu_seconds(p.pid) for p in procs]
        w0 = time.monotonic()
        time.sleep(args.duration - warmup)
        c1 = [cpu_seconds(p.pid) for p in procs]
        w1 = time.monotonic()
        window_end = datetime.now(UTC)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=120)

        os.environ.update({k: v for k, v in env.items() if k.startswith(("STATUSPAGE", "DATABASE", "SECRET"))})
        from sqlalchemy import func, select

        from statuspage import create_app
        from statuspage.extensions import db
        from statuspage.models import CheckResult

        app = create_app()
        with app.app_context():
            rows = db.session.execute(
                select(CheckResult.started_at, CheckResult.scheduled_for, CheckResult.worker_id, CheckResult.outcome)
                .where(CheckResult.started_at >= window_start, CheckResult.started_at < window_end)).all()
            total_results = db.session.scalar(select(func.count()).select_from(CheckResult))
        lags = sorted((r.started_at - r.scheduled_for).total_seconds() for r in rows)
        per_worker: dict[str, int] = {}
        for r in rows:
            per_worker[r.worker_id] = per_worker.get(r.worker_id, 0) + 1
        down = sum(1 for r in rows if r.outcome != "up")
        window = w1 - w0
        cpu = sum(b - a for a, b in zip(c0, c1, strict=True))
        hits = count_lines(access_log, "/k/")
        total_hits = sum(hits.values())
        duplicates = total_hits - total_results

        # --- bare requests loop, same GETs, same machine, same run ---
        urls = [f"http://127.0.0.1:{port}/bare/{i}" for i in range(min(args.n, len(rows) or args.n))]
        bare_cpu, bare_wall = bare_loop(urls, args.threads)
        fresh_cpu, _fresh_wall = bare_loop(urls, args.threads, reuse=False)

        ours_per_check = cpu / max(1, len(rows)) * 1000
        bare_per_check = bare_cpu / len(urls) * 1000
        fresh_per_check = fresh_cpu / len(urls) * 1000

        def pct(p: float) -> float:
            return lags[min(len(lags) - 1, int(p / 100 * len(lags)))] if lags else float("nan")

        print()
        print(f"checks: {args.n} every {args.interval}s on {args.db}, {args.workers} worker process(es), "
              f"{args.threads} probe threads each; measured window {window:.0f} s after {warmup:.0f} s warm-up")
        print(f"{'figure':44} {'value':>12}")
        print(f"{'checks run in window':44} {len(rows):>12}")
        print(f"{'checks/s (target ' + format(args.n / args.interval, '.0f') + '/s)':44} {len(rows) / window:>12.1f}")
        print(f"{'start lag p50 (s)':44} {pct(50):>12.3f}")
        print(f"{'start lag p99 (s)':44} {pct(99):>12.3f}")
        print(f"{'start lag max (s)':44} {(lags[-1] if lags else float('nan')):>12.3f}")
        print(f"{'CPU cores used by worker(s)':44} {cpu / window:>12.2f}")
        print(f"{'non-up results (should be 0)':44} {down:>12}")
        print(f"{'CPU ms per check, our engine':44} {ours_per_check:>12.3f}")
        print(f"{'CPU ms per check, bare requests loop':44} {bare_per_check:>12.3f}")
        print(f"{'ratio engine / bare (goal <= 1.3)':44} {ours_per_check / bare_per_check:>12.2f}")
        print(f"{'CPU ms per GET, bare, new connection each':44} {fresh_per_check:>12.3f}")
        print(f"{'ratio engine / bare new-connection':44} {ours_per_check / fresh_per_check:>12.2f}")
        if args.workers > 1:
            print(f"{'results per worker':44} {sorted(per_worker.values())!s:>12}")
        print(f"{'probes seen by nginx':44} {total_hits:>12}")
        print(f"{'results recorded':44} {total_results:>12}")
        print(f"{'duplicate runs (probes - results)':44} {duplicates:>12}")
        print(f"(bare loop: {len(urls)} GETs in {bare_wall:.1f} s)")
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
