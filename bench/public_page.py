"""Benchmark of the public page, in one run (figures go to docs/benchmarks.md, section "Public page").

    apt-get install -y wrk nginx          # once, on a fresh Debian machine
    make install-test                     # or: pip install -e '.[test]'
    python bench/public_page.py [--duration 10] [--connections 32]

A realistic page (50 components in 8 groups, 90 days of status history, 200 past incidents) in a
temporary SQLite database, then with wrk:

  1. our `/` and `/api/v2/summary.json` under gunicorn gthread (-w 2 --threads 8), render cache warm,
     asked as a browser asks (`Accept-Encoding: gzip, deflate, br`: brotli from the cache) and with no
     Accept-Encoding (the plain bytes);
  2. a bare Flask app returning the same plain bytes under the same gunicorn settings (the stack's
     ceiling; it does not compress, as a Flask app does not unless someone adds it);
  3. nginx serving our static export of the same site (gzip_static: the export's .gz siblings);

plus the cache-miss render time of `/` (in process, render cache cleared before each render).
Prints req/s and bytes on the wire per view (wrk's bytes read ÷ requests: headers and body) with
ratios against the bare Flask app.
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
    gzip_static on;
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


BROWSER = "gzip, deflate, br"  # what Chromium and Firefox send
_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}


def wrk(url: str, duration: int, connections: int, accept_encoding: str | None = None) -> tuple[float, float]:
    """(requests per second, bytes on the wire per response) from one wrk run after a 2 s warm-up."""
    headers = ["-H", f"Accept-Encoding: {accept_encoding}"] if accept_encoding else []
    subprocess.run(["wrk", "-t2", f"-c{connections}", "-d2s", *headers, url], capture_output=True, check=True)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", *headers, url], capture_output=True,
                         text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{out}")
    total = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read", out)
    per_view = float(total.group(2)) * _UNITS[total.group(3)] / int(total.group(1)) if total else 0.0
    return (float(match.group(1)) if match else 0.0), per_view


def wire_bytes(url: str, accept_encoding: str | None) -> tuple[int, str]:
    """(body bytes, Content-Encoding) of one response, to check what each server sends."""
    import urllib.request

    req = urllib.request.Request(url, headers={"Accept-Encoding": accept_encoding} if accept_encoding else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return len(resp.read()), resp.headers.get("Content-Encoding") or "identity"


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
            ours_url, mini_url, ngx_url = (f"http://127.0.0.1:{ours}{path}", f"http://127.0.0.1:{mini}{path}",
                                           f"http://127.0.0.1:{ngx}{nginx_path}")
            codings = {name: wire_bytes(url, BROWSER)[1] for name, url in
                       (("ours", ours_url), ("bare", mini_url), ("nginx", ngx_url))}
            rows.append((label, codings,
                         wrk(ours_url, args.duration, args.connections, BROWSER),
                         wrk(ours_url, args.duration, args.connections),
                         wrk(mini_url, args.duration, args.connections, BROWSER),
                         wrk(ngx_url, args.duration, args.connections, BROWSER)))

        print()
        print(f"Page: 50 components, 8 groups, 90 days, 200 incidents; `/` is {page_bytes / 1024:.0f} KB of HTML.")
        print(f"wrk -t2 -c{args.connections} -d{args.duration}s; gunicorn -k gthread -w 2 --threads 8; "
              f"{os.cpu_count()} CPUs (load generator on the same machine). A browser's request: "
              f"`Accept-Encoding: {BROWSER}`.")
        print()
        print("| path | ours, browser (br) req/s | bytes/view | ours, no Accept-Encoding req/s | bytes/view "
              "| bare Flask req/s | bytes/view | ours (br) ÷ bare: req/s | bare ÷ ours (br): bytes | "
              "nginx export (gzip_static) req/s | bytes/view |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for label, codings, (r_br, b_br), (r_id, b_id), (r_mini, b_mini), (r_ngx, b_ngx) in rows:
            print(f"| `{label}` | {r_br:,.0f} | {b_br:,.0f} ({codings['ours']}) | {r_id:,.0f} | {b_id:,.0f} | "
                  f"{r_mini:,.0f} | {b_mini:,.0f} ({codings['bare']}) | {r_br / r_mini:.2f} | "
                  f"{b_mini / b_br:.1f}× | {r_ngx:,.0f} | {b_ngx:,.0f} ({codings['nginx']}) |")
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
