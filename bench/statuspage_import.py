"""Import benchmark: `statuspage import statuspage` of a page with 1,000 incidents (three updates each,
a published postmortem on every tenth) and 50,000 email subscribers, read over HTTP from another instance
of ours serving the Statuspage-compatible API (gunicorn, its own processes), into SQLite and PostgreSQL,
next to a bare loop that only fetches the same pages with requests (the floor: HTTP and the source's JSON).

    PYTHONPATH=$PWD python bench/statuspage_import.py [--incidents 1000] [--subscribers 50000] [--pg URL]

Requests are not paced here (the local API has no rate limit); the line "at 1 request/s" is the time the
same number of requests takes against Statuspage itself, whose limit is one request a second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PG = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-source-secret-key-0123456789"


def env_for(database_url: str, tmp: Path, secret: str) -> dict[str, str]:
    return {"STATUSPAGE_INSTANCE_PATH": str(tmp / "instance"), "DATABASE_URL": database_url, "SECRET_KEY": secret,
            "STATUSPAGE_PUBLIC_URL": "https://status.acme.example", "STATUSPAGE_MAIL_FROM": "status@acme.example"}


def pg_url(admin_url: str, name: str) -> str | None:
    import sqlalchemy as sa

    try:
        admin = sa.engine.make_url(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - the PostgreSQL half is optional
        print(f"PostgreSQL unavailable ({exc}); SQLite only", file=sys.stderr)
        return None
    return admin.set(database=name).render_as_string(hide_password=False)


# --- the source page ---------------------------------------------------------------------------------------


def seed_source(database_url: str, tmp: Path, incidents: int, subscribers: int) -> tuple[str, str]:
    """Build the source page; return (page id, read key)."""
    from sqlalchemy import insert

    from statuspage import create_app
    from statuspage.db import utcnow
    from statuspage.extensions import db
    from statuspage.models import Subscriber, SubscriberComponent
    from statuspage.services.audit import Actor
    from statuspage.services.incidents.components import create_component, create_group
    from statuspage.services.incidents.lifecycle import declare_incident, post_update
    from statuspage.services.incidents.postmortems import (
        get_or_create_postmortem,
        publish_postmortem,
        save_postmortem,
    )
    from statuspage.services.incidents.templates import save_template
    from statuspage.services.page import get_page
    from statuspage.services.users import create_token

    app = create_app({}, env=env_for(database_url, tmp, SECRET))
    actor = Actor(type="cli", label="bench")
    rng = random.Random(7)
    with app.app_context():
        db.create_all()
        now = utcnow()
        start = now - dt.timedelta(days=730)
        groups = [create_group(name=f"Region {g}", actor=actor, now=start) for g in range(2)]
        comps = [create_component(name=f"Service {i}", description=f"Service **{i}**", group=groups[i % 3]
                                  if i % 3 < 2 else None, actor=actor, now=start) for i in range(8)]
        for i in range(5):
            save_template(name=f"Template {i}", title=f"Title {i}", body="We are investigating.",
                          status="investigating", actor=actor)
        for i in range(incidents):
            t = start + dt.timedelta(minutes=int(i * 700_000 / max(1, incidents)))
            hit = rng.sample(comps, rng.choice((1, 2)))
            inc = declare_incident(name=f"Incident {i}: elevated error rates", impact="major",
                                   components={c: rng.choice(("major_outage", "partial_outage")) for c in hit},
                                   body="We are investigating elevated error rates. " * 3, actor=actor, now=t)
            post_update(inc, status="identified", body="The cause is a faulty deploy.", actor=actor,
                        now=t + dt.timedelta(minutes=20))
            post_update(inc, status="resolved", body="Resolved: the deploy was rolled back.", actor=actor,
                        now=t + dt.timedelta(minutes=70))
            if i % 10 == 0:
                pm = get_or_create_postmortem(inc, actor=actor)
                save_postmortem(pm, actor=actor, sections={"summary": {"body": "A **faulty** deploy.", "public": True}})
                publish_postmortem(pm, actor=actor, now=t + dt.timedelta(days=1))
            if i % 200 == 0:
                print(f"  seeded {i} incidents", file=sys.stderr)
        rows = []
        for i in range(subscribers):
            state = i % 20
            rows.append({"id": i + 1, "kind": "email", "email": f"user{i}@customer.example", "created_at": now,
                         "all_components": i % 5 != 0, "token_version": 1, "failure_count": 0,
                         "webhook_format": "statuspage", "confirmed_at": None if state == 0 else now,
                         "unsubscribed_at": now if state == 1 else None, "quarantined_at": now if state == 2 else None})
        for offset in range(0, len(rows), 10_000):
            db.session.execute(insert(Subscriber.__table__), rows[offset:offset + 10_000])
        links = [{"subscriber_id": i + 1, "component_id": comps[i % len(comps)].id} for i in range(subscribers)
                 if i % 5 == 0]
        for offset in range(0, len(links), 10_000):
            db.session.execute(insert(SubscriberComponent.__table__), links[offset:offset + 10_000])
        db.session.commit()
        _, key = create_token("bench export", "read")
        page_id = get_page().public_id
        db.session.commit()
    return page_id, key


def serve(database_url: str, tmp: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, **env_for(database_url, tmp, SECRET)}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "2", "--threads", "4",
                             "--bind", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(url + "/healthz", timeout=5).status_code in (200, 503):
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the source did not start")


# --- measurements ------------------------------------------------------------------------------------------


def bare_fetch(api_url: str, page_id: str, key: str) -> tuple[int, float]:
    """Fetch every page the importer fetches, parse the JSON, nothing else."""
    session = requests.Session()
    session.headers["Authorization"] = f"OAuth {key}"
    base = f"{api_url}/pages/{page_id}"
    count = 0
    t0 = time.perf_counter()

    def pages(path: str, params: dict, size_param: str = "per_page", first: int = 1) -> None:
        nonlocal count
        number = first
        while True:
            batch = session.get(base + path, params={**params, size_param: 100, "page": number}, timeout=60).json()
            count += 1
            if len(batch) < 100:
                return
            number += 1

    session.get(base, timeout=60).json()
    count += 1
    for path in ("/component-groups", "/components", "/incident_templates", "/incidents/scheduled"):
        pages(path, {})
    pages("/incidents", {}, "limit")
    session.get(base + "/subscribers/count", params={"type": "email", "state": "all"}, timeout=60).json()
    count += 1
    for state in ("active", "unconfirmed", "quarantined"):
        pages("/subscribers", {"type": "email", "state": state}, "limit", 0)
    pages("/subscribers/unsubscribed", {})
    return count, time.perf_counter() - t0


def timed_import(target_url: str, tmp: Path, api_url: str, page_id: str, key: str) -> dict:
    from statuspage import create_app
    from statuspage.extensions import db
    from statuspage.services.statuspage_import import StatuspageClient, run_import

    app = create_app({}, env=env_for(target_url, tmp, "bench-target-secret-key-0123456789"))
    out: dict = {}
    with app.app_context():
        db.drop_all()
        db.create_all()
        for run in ("first", "second"):
            phases: dict[str, float] = {}
            t0 = time.perf_counter()

            def progress(phase: str, _done: int, _total: int | None, phases=phases, t0=t0) -> None:
                phases[phase] = time.perf_counter() - t0  # when the phase last reported

            report = run_import(StatuspageClient(api_url, key, page_id, min_interval=0), progress=progress)
            out[run] = {"seconds": time.perf_counter() - t0, "requests": report.requests, "phases": phases,
                        "incidents": report["incident"], "subscribers": report["subscriber"]}
        db.session.remove()
        db.engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=50_000)
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL admin URL ('' to skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        source_db = f"sqlite:///{tmp / 'source.db'}"
        t0 = time.perf_counter()
        page_id, key = seed_source(source_db, tmp / "source", args.incidents, args.subscribers)
        print(f"seeded the source in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        proc, url = serve(source_db, tmp / "source")
        try:
            api_url = url + "/api/statuspage/v1"
            requests_n, bare = bare_fetch(api_url, page_id, key)
            targets = [("SQLite", f"sqlite:///{tmp / 'target.db'}")]
            if args.pg:
                pg = pg_url(args.pg, "sp_bench_import")
                if pg:
                    targets.append(("PostgreSQL", pg))
            results = [(name, timed_import(db_url, tmp / name, api_url, page_id, key)) for name, db_url in targets]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"\n{args.incidents:,} incidents, {args.subscribers:,} subscribers; {requests_n} requests "
          f"(at Statuspage's 1 request/s: {requests_n / 60:.1f} min)\n")
    print("| target | bare fetch s | import s | import ÷ bare | incidents done at s | second run s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, res in results:
        first, second = res["first"], res["second"]
        print(f"| {name} | {bare:.1f} | {first['seconds']:.1f} | {first['seconds'] / bare:.2f} | "
              f"{first['phases'].get('incidents', 0):.1f} | {second['seconds']:.1f} |")
    for name, res in results:
        first = res["first"]
        print(f"{name}: {first['requests']} requests; incidents {first['incidents'].created} created; "
              f"subscribers {first['subscribers'].created} created; second run: "
              f"{res['second']['incidents'].unchanged} incidents and {res['second']['subscribers'].unchanged} "
              f"subscribers unchanged")


if __name__ == "__main__":
    main()
