"""Benchmark: CPU time of cache-miss renders of the surfaces that show uptime, for the code on PYTHONPATH.

Seeds the public-page demo site (50 components, 8 groups, 90 days of history with daily rollups, 200
incidents; SQLite) and renders `/`, a component page and an uptime badge with the render cache cleared
each time, measuring process CPU time (``time.process_time``: steadier than wall time on a shared
machine). Run it for two trees in the same session to compare them side by side, e.g. main against a
branch:

    git archive main | (mkdir -p /tmp/main-src && tar -x -C /tmp/main-src)
    PYTHONPATH=/tmp/main-src .venv/bin/python bench/uptime_render.py
    PYTHONPATH=.             .venv/bin/python bench/uptime_render.py

The demo site comes from tests/support/factories.py (of the tree under test when it has one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# `python bench/x.py` puts bench/ first on sys.path, where bench/checks.py would shadow the checks package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=60, help="renders per path (default 60)")
    args = parser.parse_args()

    import statuspage
    from statuspage import create_app
    from statuspage.extensions import db

    sys.path.append(str(ROOT))  # after the tree under test: it wins when it has the factory
    from tests.support.factories import demo_site

    tmp = Path(tempfile.mkdtemp(prefix="bench-uptime-"))
    env = {**os.environ, "STATUSPAGE_INSTANCE_PATH": str(tmp / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "SECRET_KEY": "bench-secret-key-0123456789",
           "STATUSPAGE_PUBLIC_URL": "http://127.0.0.1"}
    app = create_app(env=env)
    with app.app_context():
        db.create_all()
        demo_site(dt.datetime.now(dt.UTC), components=50, groups=8, days=90, incidents=200)
    from statuspage.web.public_cache import render_cache

    client = app.test_client()
    print(f"code under test: {Path(statuspage.__file__).resolve().parent}")
    with app.app_context():
        for path in ("/", "/components/c0", "/badge/c0/uptime.svg"):
            times = []
            for _ in range(args.runs):
                render_cache().clear()
                start = time.process_time()
                assert client.get(path).status_code == 200
                times.append((time.process_time() - start) * 1000)
            times = times[3:]
            print(f"{path:24} CPU per cache-miss render: min {min(times):6.1f} ms, median {statistics.median(times):6.1f} ms")


if __name__ == "__main__":
    main()
