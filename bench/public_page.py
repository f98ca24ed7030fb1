"""Benchmark of the public page, in one run (figures go to docs/benchmarks.md, section "Public page").

    apt-get install -y wrk nginx          # once, on a fresh Debian machine
    make install-test                     # or: pip install -e '.[test]'
    python bench/public_page.py [--duration 10] [--connections 32]

A realistic page (50 components in 8 groups, 90 days of status history, 200 past incidents) in a
temporary SQLite database, then with wrk:

  1. our `/` and `/api/v2/summary.json` under gunicorn gthread (-w 2 --threads 8), render cache warm;
  2. a minimal Flask app returning the same bytes under the same gunicorn settings (the stack's ceiling);
  3. nginx serving our static export of the same site;

plus the cache-miss render time of `/` (in process, render cache cleared before each render).
Prints a table with ratios against the minimal Flask app.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MINIMAL_APP = '''
from pathlib import Path
from flask import Flask, Response
HERE = Path(__file__).parent
INDEX = (HERE / "index.html").read_bytes()
SUMMARY = (HERE / "summary.json").read_bytes()
app = Flask(__name__)

@app.get("/")
def index():
    return Response(INDEX, mimetype="text/html")

@app.get("/api/v2/summary.json")
def summary():
    return Response(SUMMARY, mimetype="application/json")
'''

NGINX_CONF = '''
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  include /etc/nginx/mime.types;
  types {{ application/json json; }}
  access_log off;
  sendfile on;
  client_body_temp_path {tmp}/nginx-body; proxy_temp_path {tmp}/nginx-proxy;
  fastcgi_temp_path {tmp}/nginx-fcgi; uwsgi_temp_path {tmp}/nginx-uwsgi; scgi_temp_path {tmp}/nginx-scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location / {{ try_files $uri $uri/index.html =404; }}
  }}
}}
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 20.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, duration: int, connections: int) -> float:
    subprocess.run(["wrk", "-t2", f"-c{connections}", "-d2s", url], capture_output=True, check=True)  # warm-up
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", url], capture_output=True,
                         text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{out}")
    return float(match.group(1)) if match else 0.0


def gunicorn(app_ref: str, port: int, cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "2", "--threads", "8",
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning", app_ref],
                            cwd=str(cwd), env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))


def seed(env: dict) -> None:
    from statuspage import create_app
    from statuspage.extensions import db
    from tests.support.factories import demo_site

    app = create_app(env=env)
    with app.app_context():
        db.create_all()
        demo_site(dt.datetime.now(dt.UTC), components=50, groups=8, days=90, incidents=200)


def miss_render_ms(env: dict, runs: int = 15) -> tuple[float, int]:
    from statuspage import create_app
    from statuspage.web.public_cache import render_cache

    app = create_app(env=env)
    client = app.test_client()
    times = []
    size = 0
    with app.app_context():
        for _ in range(runs):
            render_cache().clear()
            start = time.perf_counter()
            resp = client.get("/")
            times.append((time.perf_counter() - start) * 1000)
            size = len(resp.data)
    return statistics.median(times[2:]), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: apt-get install -y wrk nginx")

    tmp = Path(tempfile.mkdtemp(prefix="bench-public-"))
    tmp.chmod(0o755)  # nginx workers run as www-data
    env = {**os.environ, "STATUSPAGE_INSTANCE_PATH": str(tmp / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "SECRET_KEY": "bench-secret-key-0123456789",
           "STATUSPAGE_PUBLIC_URL": "http://127.0.0.1", "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen] = []
    try:
        print("seeding 50 components / 8 groups / 90 days / 200 incidents …", flush=True)
        seed(env)
        miss_ms, page_bytes = miss_render_ms(env)

        from statuspage import create_app
        from statuspage.services.site.export import export_site

        app = create_app(env=env)
        with app.app_context():
            export_site(app, tmp / "export")
            client = app.test_client()
            minimal = tmp / "minimal"
            minimal.mkdir()
            (minimal / "index.html").write_bytes(client.get("/").data)
            (minimal / "summary.json").write_bytes(client.get("/api/v2/summary.json").data)
            (minimal / "bench_minimal.py").write_text(MINIMAL_APP)

        ours, mini, ngx = free_port(), free_port(), free_port()
        procs.append(gunicorn("wsgi:app", ours, ROOT, env, tmp / "ours.log"))
        procs.append(gunicorn("bench_minimal:app", mini, minimal, env, tmp / "minimal.log"))
        (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp, port=ngx, root=(tmp / "export").resolve()))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        procs.append(subprocess.Popen([nginx, "-c", str(tmp / "nginx.conf"), "-p", str(tmp), "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port, log in ((ours, "ours.log"), (mini, "minimal.log"), (ngx, "nginx-error.log")):
            try:
                wait_http(f"http://127.0.0.1:{port}/")
            except RuntimeError:
                sys.exit(f"server on port {port} did not start:\n" + (tmp / log).read_text()[-3000:])

        rows = []
        for label, path, nginx_path in [("/", "/", "/index.html"),
                                        ("/api/v2/summary.json", "/api/v2/summary.json", "/api/v2/summary.json")]:
            print(f"wrk {label} …", flush=True)
            r_ours = wrk(f"http://127.0.0.1:{ours}{path}", args.duration, args.connections)
            r_mini = wrk(f"http://127.0.0.1:{mini}{path}", args.duration, args.connections)
            r_ngx = wrk(f"http://127.0.0.1:{ngx}{nginx_path}", args.duration, args.connections)
            rows.append((label, r_ours, r_mini, r_ngx))

        print()
        print(f"Page: 50 components, 8 groups, 90 days, 200 incidents; `/` is {page_bytes / 1024:.0f} KB.")
        print(f"wrk -t2 -c{args.connections} -d{args.duration}s; gunicorn -k gthread -w 2 --threads 8; "
              f"{os.cpu_count()} CPUs (load generator on the same machine).")
        print()
        print("| path | ours (cached) req/s | minimal Flask req/s | ours ÷ minimal | nginx export req/s | nginx ÷ minimal |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, r_ours, r_mini, r_ngx in rows:
            print(f"| `{label}` | {r_ours:,.0f} | {r_mini:,.0f} | {r_ours / r_mini:.2f} | {r_ngx:,.0f} | "
                  f"{r_ngx / r_mini:.1f} |")
        print()
        print(f"Cache-miss render of `/` (median of 13, in process): {miss_ms:.1f} ms")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
