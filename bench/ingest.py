"""Benchmark (issue 14): probe result ingestion on PostgreSQL — AGENTS probe agents each posting the results
of N checks a minute to the real product web server; server CPU per result and the time from probe to
component status. Figures go to docs/benchmarks.md ("Probe result ingestion (issue 14)").

Side by side in one run:

* ours: `statuspage run --no-worker --web-workers 2` (gunicorn gthread, 2 × 8 threads) on a fresh
  PostgreSQL database; a generated config (COMPONENTS components × PER checks, kind tcp, interval 60 s,
  failure/success threshold 1, `locations: [a1 … aN]` — the local worker is not one of them, and no
  worker runs —, quorum = majority), one probe token per location;
* bare: a minimal Flask app (below, in this file) under the same gunicorn settings that takes the same
  JSON batch, checks the bearer token against a sha256 in memory and writes the rows with one multi-row
  INSERT into a plain table in its own database — the stack's floor for "take a batch, store it".

Each simulated agent is its own process (multiprocessing: the load generator does not share the GIL
with anything measured). It reads its checks from GET /api/v1/probe/<loc>/checks, computes each
check's slots with ``schedule.next_slot_after(slug, 60, …)`` as a real agent does, and once a second
(the ten agents a tenth of a second apart) posts, on one keep-alive connection, the results whose slot
has passed (≈ 83 per post). Every outcome is "up", except that after the measured window FLIP checks in
distinct components turn "down" at every agent from their next slot on; a poller (its own process,
read token) asks GET /api/v1/components/<slug> every 0.2 s from that slot on until it says
major_outage.

Measured over a steady window after the warm-up (the first interval creates the per-location rows):
results/s accepted against the rate demanded, CPU per result of the web server (utime+stime of the
gunicorn master, its live workers and its reaped children, from /proc) and of PostgreSQL (every process
of the cluster: postmaster tree, background processes included — and, separately, the backends
connected to the benchmark's database), HTTP p50/p99 of the POSTs as the agent times them, how far the
agents fall behind (age of the oldest result of a batch when it is posted), and probe → status: per
flipped check, from the probe (its slot; started_at = slot) to the first poll that sees major_outage,
p50/p99/max — plus the part of that after the quorum-making (6th) agent's POST returned.

    make install-test
    python bench/ingest.py [--agents 10] [--components 500] [--per 10] [--warmup 75] [--window 90]

Needs PostgreSQL at --pg-url (trust auth); creates and drops the databases bench_ingest and bench_bare.
Talks only to 127.0.0.1. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import heapq
import json
import multiprocessing as mp
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
INTERVAL = 60

BARE_APP = '''
import hashlib, json, os, threading
import psycopg
from flask import Flask, jsonify, request

TOKENS = json.loads(os.environ["BARE_TOKENS"])  # sha256 hex -> location
DSN = os.environ["BARE_DSN"]
COLUMNS = ("check_id", "location", "slot", "started_at", "outcome", "latency_ms", "status_code",
           "error_class", "message")
local = threading.local()
app = Flask(__name__)


def conn():
    c = getattr(local, "conn", None)
    if c is None or c.closed:
        c = local.conn = psycopg.connect(DSN)
    return c


@app.post("/api/v1/probe/<location>/results")
def results(location):
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer ") or TOKENS.get(hashlib.sha256(auth[7:].encode()).hexdigest()) != location:
        return jsonify({"error": {"code": "unauthorized", "message": "bad token"}}), 401
    body = request.get_json()
    rows = body["results"]
    if rows:
        params = []
        for r in rows:
            params += [r["check_id"], location, r["slot"], r.get("started_at") or r["slot"], r["outcome"],
                       r.get("latency_ms"), r.get("status_code"), r.get("error_class"), r.get("message")]
        c = conn()
        with c.cursor() as cur:
            cur.execute("INSERT INTO bare_result (" + ", ".join(COLUMNS) + ") VALUES "
                        + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows)), params)
        c.commit()
    return jsonify({"accepted": len(rows), "duplicates": 0, "rejected": []})
'''

BARE_TABLE = """CREATE TABLE bare_result (id bigserial PRIMARY KEY, check_id integer NOT NULL,
location text NOT NULL, slot timestamptz NOT NULL, started_at timestamptz NOT NULL, outcome text NOT NULL,
latency_ms double precision, status_code integer, error_class text, message text)"""


# --- helpers ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    import requests

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} does not answer")


def recreate_db(admin_url: str, name: str) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


# --- CPU from /proc --------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields:
                kids.setdefault(int(fields[1]), []).append(int(entry))
    return kids


def tree_cpu(pid: int, kids: dict[int, list[int]] | None = None) -> float:
    """CPU seconds of a process, its reaped children (cutime+cstime) and its live descendants."""
    kids = _children() if kids is None else kids
    fields = _stat(pid)
    if not fields:
        return 0.0
    own = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICK  # utime stime cutime cstime
    return own + sum(tree_cpu(c, kids) for c in kids.get(pid, []))


def postmaster_pid() -> int:
    """The PostgreSQL postmaster: a process named postgres whose parent is not."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
        except OSError:
            continue
        fields = _stat(int(entry))
        if comm == "postgres" and fields:
            try:
                parent = Path(f"/proc/{fields[1]}/comm").read_text().strip()
            except OSError:
                parent = ""
            if parent != "postgres":
                return int(entry)
    raise RuntimeError("no local postgres process found (CPU of PostgreSQL is read from /proc)")


def db_backends_cpu(dbname: str) -> dict[int, float]:
    """CPU seconds of each live backend connected to ``dbname`` (by its process title)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {dbname} " in title:
            fields = _stat(int(entry))
            if fields:
                out[int(entry)] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def backends_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU of the database's backends over a window (a backend that appeared counts from zero; one that
    went away in the window is missed — the app's pool keeps its connections, so it should not happen)."""
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


class Sample:
    def __init__(self, server_pid: int, pg_pid: int, dbname: str, agent_pids: list[int]):
        kids = _children()
        self.t = time.time()
        self.server = tree_cpu(server_pid, kids)
        self.pg = tree_cpu(pg_pid, kids)
        self.backends = db_backends_cpu(dbname)
        self.agents = sum(tree_cpu(p, kids) for p in agent_pids)
        self.load = Path("/proc/loadavg").read_text().split()[0]


# --- the simulated agent (its own process) ---------------------------------------------------------


def agent_main(index: int, location: str, token: str, base: str, checks: list[tuple[int, str]],
               flip: list[int], flip_at: float, phase: float, stop, queue) -> None:
    import requests

    sys.path.insert(0, str(ROOT))
    from statuspage.services.monitoring.schedule import next_slot_after

    def iso(t: dt.datetime) -> str:
        return t.isoformat(timespec="milliseconds")

    flip_ids = set(flip)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    url = f"{base}/api/v1/probe/{location}/results"
    now_dt = dt.datetime.now(dt.UTC)
    heap = [(next_slot_after(slug, INTERVAL, now_dt), cid, slug) for cid, slug in checks]
    heapq.heapify(heap)
    posts: list[tuple] = []  # (sent, done, n, http status, accepted, duplicates, oldest slot epoch)
    downs: list[tuple] = []  # (check id, slot epoch, POST done)
    tick = time.time() // 1 + 1 + phase
    while not stop.is_set():
        delay = tick - time.time()
        if delay > 0:
            time.sleep(delay)
        tick += 1.0
        now = dt.datetime.now(dt.UTC)
        batch, flipped = [], []
        while heap and heap[0][0] <= now and len(batch) < 1000:
            slot, cid, slug = heapq.heappop(heap)
            down = cid in flip_ids and slot.timestamp() >= flip_at
            stamp = iso(slot)
            batch.append({"check_id": cid, "slot": stamp, "started_at": stamp,
                          "outcome": "down" if down else "up", "latency_ms": 0.8,
                          "status_code": None, "error_class": "refused" if down else None,
                          "message": "connection refused" if down else "connected", "conditions": None})
            if down:
                flipped.append((cid, slot.timestamp()))
            heapq.heappush(heap, (next_slot_after(slug, INTERVAL, slot), cid, slug))
        oldest = min((dt.datetime.fromisoformat(r["slot"]).timestamp() for r in batch), default=None)
        body = {"agent": {"version": "bench", "buffer_depth": 0, "oldest_buffered_at": None,
                          "dropped": 0, "hostname": f"bench-agent-{index}"}, "results": batch}
        sent = time.time()
        try:
            resp = session.post(url, json=body, timeout=60)
            status = resp.status_code
            data = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
        except requests.RequestException:
            status, data = 0, {}
        done = time.time()
        posts.append((sent, done, len(batch), status, data.get("accepted", 0), data.get("duplicates", 0),
                      oldest))
        for cid, slot in flipped:
            downs.append((cid, slot, done))
    queue.put((index, posts, downs))


def poller_main(base: str, token: str, targets: list[tuple[str, float]], deadline: float, queue) -> None:
    """GET /api/v1/components/<slug> every 0.2 s from each target's down slot until it says major_outage."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    seen: dict[str, float] = {}
    early: list[str] = []
    polls = 0
    while len(seen) < len(targets) and time.time() < deadline:
        start = time.time()
        for slug, slot in targets:
            if slug in seen or slot > start:
                continue
            resp = session.get(f"{base}/api/v1/components/{slug}", timeout=30)
            polls += 1
            if resp.ok and resp.json()["status"] == "major_outage":
                seen[slug] = time.time()
        time.sleep(max(0.0, 0.2 - (time.time() - start)))
    queue.put({"seen": seen, "early": early, "polls": polls})


# --- one side --------------------------------------------------------------------------------------


def write_config(path: Path, components: int, per: int, locations: list[str], quorum: int) -> None:
    with open(path, "w") as fh:
        fh.write("page: {name: Bench}\nlocations:\n")
        for loc in locations:
            fh.write(f"  - {{id: {loc}, name: Agent {loc}}}\n")
        fh.write("components:\n")
        for c in range(components):
            fh.write(f"  - id: c{c}\n    name: C{c}\n    auto_incident: 'off'\n"
                     f"    locations: [{', '.join(locations)}]\n    quorum: {quorum}\n    checks:\n")
            for j in range(per):
                fh.write(f"      - {{id: c{c}-k{j}, kind: tcp, host: 127.0.0.1, port: 9, interval: {INTERVAL}s, "
                         f"timeout: 5s, failure_threshold: 1, success_threshold: 1}}\n")


TOKENS_SCRIPT = """
import json, sys
from statuspage import create_app
from statuspage.services.users import create_token
app = create_app()
with app.app_context():
    out = {loc: create_token(f"bench agent {loc}", "probe", location=loc)[1] for loc in sys.argv[1:]}
    out["_read"] = create_token("bench poller", "read")[1]
print(json.dumps(out))
"""


def start_agents(base: str, locations: list[str], tokens: dict[str, str], checks, flip, flip_at: float):
    ctx = mp.get_context("spawn")
    stop, queue = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=agent_main, args=(i, loc, tokens[loc], base, checks, flip, flip_at,
                                                  i / len(locations), stop, queue), daemon=True)
             for i, loc in enumerate(locations)]
    for p in procs:
        p.start()
    return procs, stop, queue


def stop_agents(procs, stop, queue) -> dict[int, tuple]:
    stop.set()
    out = {}
    for _ in procs:
        index, posts, downs = queue.get(timeout=120)
        out[index] = (posts, downs)
    for p in procs:
        p.join(timeout=30)
    return out


def window_figures(records: dict[int, tuple], w0: float, w1: float) -> dict:
    posts = [p for posts, _ in records.values() for p in posts if w0 <= p[1] < w1]
    latency = [(done - sent) * 1000 for sent, done, *_ in posts]
    lag = [done - oldest for sent, done, n, status, acc, dup, oldest in posts if oldest is not None]
    return {"posts": len(posts), "results": sum(p[2] for p in posts), "accepted": sum(p[4] for p in posts),
            "duplicates": sum(p[5] for p in posts), "errors": sum(1 for p in posts if p[3] != 200),
            "codes": sorted({p[3] for p in posts if p[3] != 200}),
            "http_p50": percentile(latency, 50), "http_p99": percentile(latency, 99),
            "http_max": max(latency, default=float("nan")), "batch_mean": sum(p[2] for p in posts) / max(1, len(posts)),
            "lag_p99": percentile(lag, 99), "lag_max": max(lag, default=float("nan"))}


def measure(server_pid: int, pg_pid: int, dbname: str, agents, warmup_until: float, window: float,
            label: str) -> tuple[Sample, Sample]:
    time.sleep(max(0.0, warmup_until - time.time()))
    pids = [p.pid for p in agents]
    s0 = Sample(server_pid, pg_pid, dbname, pids)
    print(f"[{label}] measuring {window:.0f} s …", flush=True)
    time.sleep(window)
    return s0, Sample(server_pid, pg_pid, dbname, pids)


def cpu_figures(s0: Sample, s1: Sample, accepted: int) -> dict:
    span = s1.t - s0.t
    per = max(1, accepted)
    backends = backends_delta(s0.backends, s1.backends)
    return {"window_s": span, "rate": accepted / span,
            "server_cores": (s1.server - s0.server) / span, "server_ms": (s1.server - s0.server) / per * 1000,
            "pg_cores": (s1.pg - s0.pg) / span, "pg_ms": (s1.pg - s0.pg) / per * 1000,
            "backends_ms": backends / per * 1000, "agents_cores": (s1.agents - s0.agents) / span,
            "load": s1.load}


def run_ours(args, work: Path, locations: list[str], quorum: int) -> dict:
    import requests

    url = recreate_db(args.pg_url, "bench_ingest")
    env = {**os.environ, "DATABASE_URL": url, "STATUSPAGE_INSTANCE_PATH": str(work / "instance"),
           "SECRET_KEY": "bench-" + "x" * 30, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "statuspage.cli"]
    cfg = work / "ingest.yml"
    write_config(cfg, args.components, args.per, locations, quorum)
    subprocess.run(cli + ["db", "upgrade"], env=env, check=True, capture_output=True, cwd=ROOT)
    subprocess.run(cli + ["config", "apply", str(cfg)], env=env, check=True, capture_output=True, cwd=ROOT)
    tokens = json.loads(subprocess.run([sys.executable, "-c", TOKENS_SCRIPT, *locations], env=env, check=True,
                                       capture_output=True, text=True, cwd=ROOT).stdout)
    port = free_port()
    log = open(work / "ours.log", "w")
    server = subprocess.Popen(cli + ["run", "--no-worker", "--no-migrate", "--web-workers", str(args.web_workers),
                                     "--host", "127.0.0.1", "--port", str(port)],
                              env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    agents = []
    try:
        wait_http(base + "/")
        time.sleep(1)
        kids = _children()
        gunicorn = [c for c in kids.get(server.pid, [])]
        if len(gunicorn) != 1:
            raise RuntimeError(f"expected one gunicorn master under statuspage run, got {gunicorn}")
        master = gunicorn[0]
        listing = requests.get(f"{base}/api/v1/probe/{locations[0]}/checks",
                               headers={"Authorization": f"Bearer {tokens[locations[0]]}"}, timeout=60).json()
        checks = [(c["id"], c["slug"]) for c in listing["checks"]]
        (work / "checks.json").write_text(json.dumps(checks))  # the bare side posts the same ids and slots
        by_slug = dict((slug, cid) for cid, slug in checks)
        # FLIP checks in distinct components, spread over the components and over the check positions.
        step = args.components / args.flip
        flip_slugs = [f"c{int(j * step)}-k{j % args.per}" for j in range(args.flip)]
        flip = [by_slug[s] for s in flip_slugs]
        t0 = time.time()
        w0 = t0 + args.warmup
        flip_at = round(w0 + args.window + 3, 3)
        agents, stop, queue = start_agents(base, locations, tokens, checks, flip, flip_at)
        s0, s1 = measure(master, args.pg_pid, "bench_ingest", agents, w0, args.window, "ours")

        # Probe → status: after the window, so the poller's GETs are not in the CPU figures.
        sys.path.insert(0, str(ROOT))
        from statuspage.services.monitoring.schedule import next_slot_after

        flip_dt = dt.datetime.fromtimestamp(flip_at, dt.UTC)
        targets = [(s.split("-")[0], next_slot_after(s, INTERVAL, flip_dt - dt.timedelta(milliseconds=1)).timestamp())
                   for s in flip_slugs]
        ctx = mp.get_context("spawn")
        pq = ctx.Queue()
        poller = ctx.Process(target=poller_main, args=(base, tokens["_read"], targets,
                                                       flip_at + INTERVAL + args.flip_timeout, pq), daemon=True)
        print(f"[ours] flipping {args.flip} checks down from {flip_dt:%H:%M:%S}; polling their components …",
              flush=True)
        poller.start()
        polled = pq.get(timeout=INTERVAL + args.flip_timeout + 60)
        poller.join(timeout=10)
        records = stop_agents(agents, stop, queue)
        agents = []
        fig = window_figures(records, s0.t, s1.t)
        fig.update(cpu_figures(s0, s1, fig["accepted"]))
        fig["flip_phase"] = window_figures(records, flip_at, time.time())
        # Per flipped check: its down slot (the same at every agent), and when each agent's POST carrying it
        # returned; the quorum-th one made the decision.
        returns: dict[int, list[float]] = {}
        slots: dict[int, set[float]] = {}
        for _posts, downs in records.values():
            for cid, slot, done in downs:
                if cid in flip and slot == min(s for c, s, _ in downs if c == cid):
                    returns.setdefault(cid, []).append(done)
                    slots.setdefault(cid, set()).add(slot)
        probe_to_status, after_quorum_post, quorum_post, missing = [], [], [], []
        for slug, (comp, slot) in zip(flip_slugs, targets, strict=True):
            cid = by_slug[slug]
            seen = polled["seen"].get(comp)
            agent_slots = slots.get(cid, set())
            if seen is None or len(returns.get(cid, [])) < quorum or agent_slots != {slot}:
                missing.append(slug)
                continue
            probe_to_status.append(seen - slot)
            after_quorum_post.append(seen - sorted(returns[cid])[quorum - 1])
            quorum_post.append(sorted(returns[cid])[quorum - 1] - slot)
        fig.update({"flipped": args.flip, "seen": len(probe_to_status), "missing": missing,
                    "p2s_p50": percentile(probe_to_status, 50), "p2s_p99": percentile(probe_to_status, 99),
                    "p2s_max": max(probe_to_status, default=float("nan")),
                    "qp_p50": percentile(quorum_post, 50), "qp_max": max(quorum_post, default=float("nan")),
                    "aq_p50": percentile(after_quorum_post, 50), "aq_max": max(after_quorum_post, default=float("nan")),
                    "polls": polled["polls"]})
        fig["sanity"] = sanity(url, args.flip)
        return fig
    finally:
        for p in agents:
            p.kill()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def sanity(url: str, flip: int) -> str:
    """What the database says after the run: per-location rows, components down, stored results."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        cls = conn.scalar(sa.text("select count(*) from check_location"))
        down = conn.scalar(sa.text("select count(*) from component where status = 'major_outage'"))
        stored = conn.scalar(sa.text("select count(*) from check_result"))
        received = conn.scalar(sa.text("select coalesce(sum(results_received), 0) from probe_location"))
    engine.dispose()
    return (f"{cls} per-location rows; {down} of {flip} flipped components in major_outage; "
            f"{stored} stored result rows; {received} results received in all")


def run_bare(args, work: Path, locations: list[str], checks_file: Path) -> dict:
    import psycopg

    url = recreate_db(args.pg_url, "bench_bare")
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn) as conn:
        conn.execute(BARE_TABLE)
    tokens = {loc: "bare_" + secrets.token_urlsafe(32) for loc in locations}
    app_dir = work / "bare"
    app_dir.mkdir()
    (app_dir / "bench_bare_app.py").write_text(BARE_APP)
    env = {**os.environ, "BARE_DSN": dsn,
           "BARE_TOKENS": json.dumps({hashlib.sha256(t.encode()).hexdigest(): loc for loc, t in tokens.items()})}
    port = free_port()
    log = open(work / "bare.log", "w")
    # The same gunicorn settings `statuspage run` uses.
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers",
                               str(args.web_workers), "--threads", "8", "--bind", f"127.0.0.1:{port}",
                               "--graceful-timeout", "20", "--access-logfile", "-", "bench_bare_app:app"],
                              env=env, cwd=app_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    agents = []
    try:
        wait_http(base + "/")
        checks = json.loads(checks_file.read_text())
        t0 = time.time()
        agents, stop, queue = start_agents(base, locations, tokens, checks, [], float("inf"))
        s0, s1 = measure(server.pid, args.pg_pid, "bench_bare", agents, t0 + args.bare_warmup, args.window, "bare")
        records = stop_agents(agents, stop, queue)
        agents = []
        fig = window_figures(records, s0.t, s1.t)
        fig.update(cpu_figures(s0, s1, fig["accepted"]))
        with psycopg.connect(dsn) as conn:
            fig["sanity"] = f"{conn.execute('select count(*) from bare_result').fetchone()[0]} rows in bare_result"
        return fig
    finally:
        for p in agents:
            p.kill()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


# --- report ----------------------------------------------------------------------------------------


def report(args, ours: dict, bare: dict, quorum: int) -> None:
    demanded = args.agents * args.components * args.per / INTERVAL
    print(f"\n{args.agents} agents × {args.components * args.per:,} checks every {INTERVAL} s "
          f"(demanded {demanded:.0f} results/s), quorum {quorum}; PostgreSQL; gunicorn gthread "
          f"{args.web_workers} × 8; {os.cpu_count()} CPUs shared with the load generator")
    print(f"windows: ours {ours['window_s']:.0f} s after {args.warmup:.0f} s warm-up, "
          f"bare {bare['window_s']:.0f} s after {args.bare_warmup:.0f} s")
    print(f"{'figure':62} {'ours':>10} {'bare':>10} {'ours/bare':>10}")

    def row(label: str, key: str, fmt: str, ratio: bool = False) -> None:
        a, b = ours[key], bare[key]
        r = f"{a / b:>10.2f}" if ratio and b else f"{'':>10}"
        print(f"{label:62} {fmt.format(a):>10} {fmt.format(b):>10} {r}")

    row("results/s accepted (agents' count, in the window)", "rate", "{:.0f}")
    row("POSTs in the window", "posts", "{:d}")
    row("results per POST, mean", "batch_mean", "{:.1f}")
    row("POSTs not answered 200", "errors", "{:d}")
    row("duplicates reported", "duplicates", "{:d}")
    row("HTTP p50 of a POST at the agent (ms)", "http_p50", "{:.1f}", True)
    row("HTTP p99 of a POST at the agent (ms)", "http_p99", "{:.1f}", True)
    row("HTTP max of a POST at the agent (ms)", "http_max", "{:.1f}")
    row("agent behind: oldest result's age when posted, p99 (s)", "lag_p99", "{:.2f}")
    row("web server CPU cores used (gunicorn master + workers)", "server_cores", "{:.2f}", True)
    row("web server CPU ms per result", "server_ms", "{:.3f}", True)
    row("PostgreSQL CPU cores used (ALL postgres processes)", "pg_cores", "{:.2f}", True)
    row("PostgreSQL CPU ms per result (ALL postgres processes)", "pg_ms", "{:.3f}", True)
    row("  of which the backends of the benchmark's database", "backends_ms", "{:.3f}", True)
    row("load generator CPU cores (10 agent processes)", "agents_cores", "{:.2f}")
    print(f"{'probe → component status (ours; flipped checks seen/flipped)':62} "
          f"{ours['seen']:>6d}/{ours['flipped']:<3d}")
    print(f"{'  p50 / p99 / max (s), probe = the slot of the 6th down result':62} "
          f"{ours['p2s_p50']:.2f} / {ours['p2s_p99']:.2f} / {ours['p2s_max']:.2f}")
    print(f"{'  probe → the quorum-making (6th) POST returned, p50 / max (s)':62} "
          f"{ours['qp_p50']:.2f} / {ours['qp_max']:.2f}")
    fp = ours["flip_phase"]
    print(f"{'  POSTs while flipping: p50 / p99 (ms), behind p99 (s), non-200':62} "
          f"{fp['http_p50']:.0f} / {fp['http_p99']:.0f}, {fp['lag_p99']:.2f}, {fp['errors']}")
    print(f"{'  after the quorum-making POST returned, p50 / max (s)':62} "
          f"{ours['aq_p50']:.2f} / {ours['aq_max']:.2f}")
    for side, fig in (("ours", ours), ("bare", bare)):
        if fig["errors"]:
            print(f"  {side}: POSTs answered {fig['codes']} (0 = no answer) — see the server log (--keep)")
    if ours["missing"]:
        print(f"  not seen in time: {', '.join(ours['missing'])}")
    print(f"load average (1 min) at the end of the windows: ours {ours['load']}, bare {bare['load']}")
    print(f"after the run — ours: {ours['sanity']}; bare: {bare['sanity']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--components", type=int, default=500)
    ap.add_argument("--per", type=int, default=10, help="checks per component")
    ap.add_argument("--flip", type=int, default=30, help="checks (in distinct components) turned down")
    ap.add_argument("--warmup", type=float, default=75.0, help="seconds before the window (ours)")
    ap.add_argument("--bare-warmup", type=float, default=20.0)
    ap.add_argument("--window", type=float, default=90.0, help="seconds measured (each side)")
    ap.add_argument("--flip-timeout", type=float, default=30.0, help="seconds after the last down slot to wait")
    ap.add_argument("--web-workers", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (server logs)")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                    help="an admin connection to the cluster (bench_ingest and bench_bare are recreated)")
    args = ap.parse_args()
    args.pg_pid = postmaster_pid()
    locations = [f"a{i + 1}" for i in range(args.agents)]
    quorum = args.agents // 2 + 1
    work = Path(tempfile.mkdtemp(prefix="sp-bench-ingest-"))
    try:
        ours = run_ours(args, work, locations, quorum)
        bare = run_bare(args, work, locations, work / "checks.json")
        report(args, ours, bare, quorum)
    finally:
        if args.keep:
            print(f"kept {work} (server logs: ours.log, bare.log)")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
