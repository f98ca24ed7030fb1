"""Benchmark: N HTTP checks every INTERVAL seconds on one `statuspage worker`, timed by the targets' own logs.

Side by side in one run:

* our worker process(es) (claim → probe → record, SQLite or PostgreSQL) probing a local nginx — and,
  with --hanging F, a fraction F of the checks probing a server that accepts and never answers
  (5 s timeout). Both targets log the arrival time of every request (nginx: `$msec`; the tarpit
  the same way), and those logs are the clock: per interval, the share of checks that were probed
  (coverage) and, per check, how far the gap between two probes strays from the interval
  (gap deviation p50/p99), separately for healthy and hanging checks;
* CPU per check of the worker, against a bare aiohttp loop (its own process) doing the same GETs to
  the same nginx with a new connection each (`TCPConnector(force_close=True)`), as our probes do —
  and, to tell the engine's cost from the database's, our engine alone (``checks.runner.Runner``, its
  own process, no database) doing the same GETs.

    python bench/checks.py --n 10000 --interval 60 [--hanging 0.1] [--db postgresql] [--workers 2]
    python bench/checks.py --ceiling 20000,40000,60000 --db postgresql     # the most one worker holds

Needs nginx (Debian: apt-get install -y nginx). Talks only to 127.0.0.1. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
GOALS = {"coverage": 0.99, "p99_gap_s": 1.0, "cpu_ratio": 1.5}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def start_nginx(workdir: Path) -> tuple[subprocess.Popen, int, Path]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        sys.exit("nginx is required: apt-get install -y nginx")
    port = free_port()
    log = workdir / "nginx-access.log"
    conf = workdir / "nginx.conf"
    # $msec: the request's time in seconds with millisecond resolution — the clock of this benchmark.
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log;
worker_rlimit_nofile 20000;
events {{ worker_connections 16384; }}
http {{
  log_format probe '$msec $uri';
  access_log {log} probe buffer=256k flush=1s;
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{ default_type application/json; return 200 '{{"status":"ok"}}'; }}
  }}
}}
""")
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(workdir)], stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port, log


# --- the never-answering target --------------------------------------------------------------------


async def _tarpit(port: int, log_path: str) -> None:
    """Accept, read the request head, log `arrival-time path`, never answer; close when the client does."""
    log = open(log_path, "a", buffering=1 << 16)  # noqa: SIM115 - open for the server's life

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            parts = head.split(b" ", 2)
            log.write(f"{time.time():.3f} {parts[1].decode(errors='replace') if len(parts) > 2 else '?'}\n")
            while await reader.read(65536):
                pass
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, asyncio.CancelledError):
            pass
        writer.transport.abort()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    while not stop.is_set():  # flush once a second, as nginx does with its buffered log
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            log.flush()
    server.close()
    log.close()


def start_tarpit(workdir: Path) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    log = workdir / "tarpit-access.log"
    proc = subprocess.Popen([sys.executable, __file__, "tarpit", str(port), str(log)])
    wait_port(port)
    return proc, port, log


# --- the bare baseline -----------------------------------------------------------------------------


async def _bare(urls: list[str], concurrency: int) -> None:
    import aiohttp

    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = list(reversed(urls))

        async def worker() -> None:
            while queue:
                url = queue.pop()
                try:
                    async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response:
                        await response.read()
                except (aiohttp.ClientError, TimeoutError):
                    pass

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def bare_loop(port: int, n: int, concurrency: int) -> tuple[float, float]:
    """The same GETs in a bare aiohttp loop in its own process; returns (CPU seconds, wall seconds)."""
    out = subprocess.run([sys.executable, __file__, "bare", str(port), str(n), str(concurrency)],
                         check=True, capture_output=True, text=True)
    data = json.loads(out.stdout)
    return data["cpu"], data["wall"]


def engine_loop(port: int, n: int, concurrency: int) -> tuple[float, float]:
    """The same GETs through our engine alone (checks.runner.Runner: conditions, results, no database),
    in its own process; returns (CPU seconds, wall seconds)."""
    out = subprocess.run([sys.executable, __file__, "engine", str(port), str(n), str(concurrency)],
                         check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    data = json.loads(out.stdout)
    return data["cpu"], data["wall"]


def _engine_main(port: int, n: int, concurrency: int) -> None:
    # Run as a script, this file's folder comes first on sys.path and its name would shadow the engine.
    here = Path(__file__).resolve().parent
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != here]
    from checks.runner import Runner
    from checks.spec import parse_check_spec

    specs = [parse_check_spec({"id": f"e{i}", "kind": "http", "url": f"http://127.0.0.1:{port}/engine/{i}",
                               "timeout": "5s"})[0] for i in range(n)]
    t0 = time.monotonic()
    with Runner(max_in_flight=concurrency) as runner:
        runner.run(specs)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"cpu": usage.ru_utime + usage.ru_stime, "wall": time.monotonic() - t0}))


def _bare_main(port: int, n: int, concurrency: int) -> None:
    urls = [f"http://127.0.0.1:{port}/bare/{i}" for i in range(n)]
    t0 = time.monotonic()
    asyncio.run(_bare(urls, concurrency))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"cpu": usage.ru_utime + usage.ru_stime, "wall": time.monotonic() - t0}))


# --- reading the targets' logs ---------------------------------------------------------------------


def read_hits(path: Path, prefix: str) -> dict[str, list[float]]:
    """Arrival times per check path (those starting with `prefix`)."""
    hits: dict[str, list[float]] = {}
    with open(path) as fh:
        for line in fh:
            stamp, _, uri = line.rstrip("\n").partition(" ")
            if uri.startswith(prefix):
                hits.setdefault(uri, []).append(float(stamp))
    return hits


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


@dataclass
class Timing:
    checks: int
    probes: int
    coverage_min: float
    coverage_mean: float
    gap_p50: float
    gap_p99: float
    gap_max: float
    doubled: int  # two probes of one check less than half an interval apart (a late run, then one on time)
    skipped: int  # a gap of more than 1.5 intervals (a slot missed)


def timing(hits: dict[str, list[float]], paths: list[str], interval: float, w0: float, w1: float) -> Timing:
    """Coverage per whole interval in [w0, w1) and gap deviation of probes that arrived in it."""
    intervals = max(1, int((w1 - w0) // interval))
    covered = [0] * intervals
    deviations: list[float] = []
    probes = doubled = skipped = 0
    for path in paths:
        times = sorted(hits.get(path, []))
        seen = [False] * intervals
        previous = None
        for t in times:
            if w0 <= t < w0 + intervals * interval:
                seen[int((t - w0) // interval)] = True
            if w0 <= t < w1:
                probes += 1
                if previous is not None:
                    gap = t - previous
                    deviations.append(abs(gap - interval))
                    doubled += gap < interval / 2
                    skipped += gap > 1.5 * interval
            previous = t
        for j, s in enumerate(seen):
            covered[j] += s
    shares = [c / max(1, len(paths)) for c in covered]
    return Timing(len(paths), probes, min(shares), sum(shares) / len(shares), percentile(deviations, 50),
                  percentile(deviations, 99), max(deviations, default=float("nan")), doubled, skipped)


# --- one run ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime (all threads)


def hanging_indices(n: int, hanging: int) -> set[int]:
    """Which checks point at the never-answering server: every k-th, spread over components and slots."""
    if not hanging:
        return set()
    step = n / hanging
    return {int(j * step) for j in range(hanging)}


def write_config(path: Path, n: int, interval: int, healthy_port: int, hang_port: int, hanging: set[int]) -> None:
    with open(path, "w") as fh:
        fh.write("page: {name: Bench}\ncomponents:\n")
        per_component = 100
        for c in range(0, n, per_component):
            fh.write(f"  - id: c{c // per_component}\n    name: C{c // per_component}\n"
                     f"    auto_incident: 'off'\n    checks:\n")
            for i in range(c, min(n, c + per_component)):
                port, prefix = (hang_port, "h") if i in hanging else (healthy_port, "k")
                fh.write(f"      - {{id: k{i}, kind: http, url: 'http://127.0.0.1:{port}/{prefix}/{i}', "
                         f"interval: {interval}s, timeout: 5s}}\n")


def database_env(args: argparse.Namespace, name: str) -> dict[str, str]:
    if args.db != "postgresql":
        return {}
    import sqlalchemy as sa

    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.engine.make_url(args.pg_url).set(database=name)
    return {"DATABASE_URL": url.render_as_string(hide_password=False)}


def run_once(args: argparse.Namespace, n: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="sp-bench-checks-"))
    nginx, port, nginx_log = start_nginx(work)
    tarpit, hang_port, tarpit_log = start_tarpit(work)
    hanging = hanging_indices(n, round(n * args.hanging))
    env = {**os.environ, "STATUSPAGE_INSTANCE_PATH": str(work / "instance"), "SECRET_KEY": "bench-" + "x" * 30,
           "PYTHONPATH": str(ROOT), **database_env(args, "sp_bench_checks")}
    if args.max_in_flight:
        env["STATUSPAGE_MAX_PROBES_IN_FLIGHT"] = str(args.max_in_flight)
    procs: list[subprocess.Popen] = []
    try:
        cfg = work / "bench.yml"
        write_config(cfg, n, args.interval, port, hang_port, hanging)
        cli = [sys.executable, "-m", "statuspage.cli"]
        subprocess.run(cli + ["db", "upgrade"], env=env, check=True, capture_output=True)
        t = time.monotonic()
        subprocess.run(cli + ["config", "apply", str(cfg)], env=env, check=True, capture_output=True)
        apply_s = time.monotonic() - t
        procs = [subprocess.Popen(cli + ["worker"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(work / f"worker{i}.log", "w")) for i in range(args.workers)]
        # The first interval runs the slots that fell due while the config was applied (catch-up), the second
        # settles; measure from the third.
        warmup = 2 * args.interval + 5 if args.warmup is None else args.warmup
        time.sleep(warmup)
        w0 = time.time()
        c0 = [cpu_seconds(p.pid) for p in procs]
        time.sleep(args.intervals * args.interval)
        c1 = [cpu_seconds(p.pid) for p in procs]
        w1 = time.time()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=120)
        time.sleep(1.5)  # nginx flushes its log buffer every second
        load = Path("/proc/loadavg").read_text().split()[:3]
        hits = read_hits(nginx_log, "/k/")
        hang_hits = read_hits(tarpit_log, "/h/")
        healthy_paths = [f"/k/{i}" for i in range(n) if i not in hanging]
        hang_paths = [f"/h/{i}" for i in sorted(hanging)]
        healthy = timing(hits, healthy_paths, args.interval, w0, w1)
        hang = timing(hang_hits, hang_paths, args.interval, w0, w1) if hanging else None
        cpu = sum(b - a for a, b in zip(c0, c1, strict=True))
        probes = healthy.probes + (hang.probes if hang else 0)
        bare_n = min(healthy.probes or n, 20_000)
        bare_cpu, bare_wall = bare_loop(port, bare_n, args.bare_concurrency)
        engine_cpu, _ = engine_loop(port, bare_n, args.bare_concurrency)
        worker_log = "".join((work / f"worker{i}.log").read_text()[-4000:] for i in range(args.workers))
        return {
            "n": n, "hanging": len(hanging), "db": args.db, "workers": args.workers, "interval": args.interval,
            "apply_s": apply_s, "window_s": w1 - w0, "healthy": healthy, "hang": hang,
            "cpu_cores": cpu / (w1 - w0), "cpu_ms_per_check": cpu / max(1, probes) * 1000,
            "bare_ms_per_get": bare_cpu / bare_n * 1000, "bare_gets": bare_n, "bare_wall_s": bare_wall,
            "engine_ms_per_get": engine_cpu / bare_n * 1000,
            "worker_log_tail": worker_log[-1500:], "loadavg": " ".join(load),
        }
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for proc in (tarpit, nginx):
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def report(r: dict) -> None:
    h: Timing = r["healthy"]
    print(f"\n{r['n']} checks every {r['interval']} s on {r['db']}, {r['workers']} worker(s), "
          f"{r['hanging']} at a never-answering server (5 s timeout); window {r['window_s']:.0f} s "
          f"after warm-up; config apply {r['apply_s']:.1f} s")
    print(f"{'figure':52} {'healthy':>10} {'hanging':>10}")
    rows = [("checks", "checks", "{:d}"), ("probes seen by the target in the window", "probes", "{:d}"),
            ("coverage per interval, min", "coverage_min", "{:.4f}"),
            ("coverage per interval, mean", "coverage_mean", "{:.4f}"),
            ("gap deviation p50 (s)", "gap_p50", "{:.3f}"), ("gap deviation p99 (s)", "gap_p99", "{:.3f}"),
            ("gap deviation max (s)", "gap_max", "{:.3f}"),
            ("gaps under half an interval (late, then on time)", "doubled", "{:d}"),
            ("slots skipped (gap > 1.5 intervals)", "skipped", "{:d}")]
    for label, attr, fmt in rows:
        hang = fmt.format(getattr(r["hang"], attr)) if r["hang"] else "-"
        print(f"{label:52} {fmt.format(getattr(h, attr)):>10} {hang:>10}")
    ratio = r["cpu_ms_per_check"] / r["bare_ms_per_get"]
    print(f"{'CPU cores used by the worker(s)':52} {r['cpu_cores']:>10.2f}")
    print(f"{'CPU ms per check, worker (all of it)':52} {r['cpu_ms_per_check']:>10.3f}")
    print(f"{'CPU ms per GET, bare aiohttp, new connection each':52} {r['bare_ms_per_get']:>10.3f}")
    print(f"{'ratio worker / bare (goal <= 1.5)':52} {ratio:>10.2f}")
    print(f"{'CPU ms per GET, our engine alone (no database)':52} {r['engine_ms_per_get']:>10.3f}")
    print(f"{'ratio engine alone / bare':52} {r['engine_ms_per_get'] / r['bare_ms_per_get']:>10.2f}")
    ok = (h.coverage_min >= GOALS["coverage"] and h.gap_p99 <= GOALS["p99_gap_s"]
          and (r["hang"] is None or r["hang"].coverage_min >= GOALS["coverage"]))
    print(f"timing goals (coverage >= 0.99 per interval, p99 gap deviation <= 1 s): {'met' if ok else 'NOT met'}")
    print(f"machine load average (1/5/15 min) at the end: {r['loadavg']}")
    warnings = [line for line in r["worker_log_tail"].splitlines() if "WARNING" in line or "ERROR" in line]
    if warnings or not h.probes:
        print("worker log (tail):\n" + "\n".join((warnings or r["worker_log_tail"].splitlines())[-8:]))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "tarpit":
        asyncio.run(_tarpit(int(sys.argv[2]), sys.argv[3]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "engine":
        _engine_main(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "bare":
        _bare_main(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--interval", type=int, default=60)
    ap.add_argument("--intervals", type=int, default=2, help="whole intervals measured after the warm-up")
    ap.add_argument("--warmup", type=float, default=None, help="seconds ignored at the start (default: 2 intervals + 5 s)")
    ap.add_argument("--hanging", type=float, default=0.0, help="fraction of checks at a never-answering server")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--max-in-flight", type=int, default=None, help="STATUSPAGE_MAX_PROBES_IN_FLIGHT (default: the app's)")
    ap.add_argument("--bare-concurrency", type=int, default=200)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--ceiling", default=None, help="comma-separated check counts: run each, stop at the first miss")
    args = ap.parse_args()
    if args.ceiling:
        held = None
        for n in [int(x) for x in args.ceiling.split(",")]:
            r = run_once(args, n)
            report(r)
            h = r["healthy"]
            if h.coverage_min >= GOALS["coverage"] and h.gap_p99 <= GOALS["p99_gap_s"]:
                held = n
            else:
                print(r["worker_log_tail"])
                break
        print(f"\nceiling on {args.db}: {held} checks per {args.interval} s held by {args.workers} worker(s)")
        return
    report(run_once(args, args.n))


if __name__ == "__main__":
    main()
