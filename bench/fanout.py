"""Fan-out benchmark: enqueue 100,000 recipients of one incident update (SQLite and PostgreSQL), and
delivery rate to a local aiosmtpd sink next to a bare smtplib loop sending the same messages.

    PYTHONPATH=$PWD python bench/fanout.py [--subscribers 100000] [--deliver 10000] [--pg URL] [--write-docs]

The sink runs in its own process (so it does not share our GIL) and only counts messages.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PG = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# --- the sink (separate process) --------------------------------------------------------------------------


def run_sink(port: int) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        count = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            Counting.count += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port, data_size_limit=10 * 1024 * 1024)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.run(asyncio.sleep(10**6))
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink() -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--sink", str(port)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc, port


# --- set-up ----------------------------------------------------------------------------------------------------


def pg_url(admin_url: str, name: str) -> str:
    import sqlalchemy as sa

    admin = sa.engine.make_url(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def make_app(database_url: str, tmp: Path, smtp_port: int | None = None):
    from statuspage import create_app
    from statuspage.extensions import db

    env = {"STATUSPAGE_INSTANCE_PATH": str(tmp / "instance"), "DATABASE_URL": database_url,
           "SECRET_KEY": "bench-secret-key-0123456789", "STATUSPAGE_PUBLIC_URL": "https://status.acme.example",
           "STATUSPAGE_MAIL_FROM": "status@acme.example"}
    if smtp_port:
        env.update(STATUSPAGE_SMTP_HOST="127.0.0.1", STATUSPAGE_SMTP_PORT=str(smtp_port))
    app = create_app({}, env=env)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def seed(n: int, components: int = 10) -> tuple:
    """n confirmed subscribers: a third follow everything, the rest one component each."""
    from sqlalchemy import insert

    from statuspage.db import utcnow
    from statuspage.extensions import db
    from statuspage.models import Component, Subscriber, SubscriberComponent
    from tests.notify import factories as f

    f.page("Acme Cloud")
    comps = [Component(slug=f"c{i}", name=f"Component {i}", position=i) for i in range(components)]
    db.session.add_all(comps)
    db.session.commit()
    now = utcnow()
    rows = [{"id": i + 1, "kind": "email", "email": f"user{i}@example.test", "all_components": i % 3 == 0,
             "confirmed_at": now, "created_at": now, "token_version": 1, "failure_count": 0,
             "webhook_format": "statuspage"} for i in range(n)]
    for start in range(0, n, 20000):
        db.session.execute(insert(Subscriber.__table__), rows[start:start + 20000])
    links = [{"subscriber_id": i + 1, "component_id": comps[i % components].id} for i in range(n) if i % 3]
    for start in range(0, len(links), 20000):
        db.session.execute(insert(SubscriberComponent.__table__), links[start:start + 20000])
    db.session.commit()
    return comps


def make_incident(components):
    import secrets

    from statuspage.db import utcnow
    from statuspage.extensions import db
    from statuspage.models import Incident, IncidentComponent, IncidentUpdate

    now = utcnow()
    inc = Incident(public_id=secrets.token_hex(6), name="Elevated error rates on the public API",
                   status="investigating", impact="major", published_at=now, started_at=now)
    db.session.add(inc)
    db.session.flush()
    for comp in components:
        db.session.add(IncidentComponent(incident_id=inc.id, component_id=comp.id, status="major_outage"))
    upd = IncidentUpdate(public_id=secrets.token_hex(6), incident_id=inc.id, status="investigating",
                         body=("We are investigating elevated error rates on the public API. Some requests "
                               "fail with HTTP 503; retries usually succeed. " * 6), display_at=now, created_at=now)
    db.session.add(upd)
    db.session.flush()
    return inc, upd


# --- measurements ------------------------------------------------------------------------------------------------


def bench_enqueue(database_url: str, n: int) -> tuple[int, float]:
    from statuspage.extensions import db
    from statuspage.services.notifications.events import notify_event

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(database_url, Path(tmp))
        with app.app_context():
            comps = seed(n)
            inc, upd = make_incident(comps)  # every component: all subscribers are recipients
            t0 = time.perf_counter()
            count = notify_event("incident_created", inc, upd)
            db.session.commit()
            elapsed = time.perf_counter() - t0
            db.session.remove()
            db.engine.dispose()
    return count, elapsed


def start_busy(count: int) -> list[subprocess.Popen]:
    """`count` processes spinning on a core each: a machine other work keeps busy."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def bench_delivery(database_url: str, n: int, port: int, busy: int = 0) -> dict:
    from sqlalchemy import update

    from statuspage.extensions import db
    from statuspage.models import OutboxMessage
    from statuspage.services.notifications.events import notify_event
    from statuspage.services.notifications.outbox.claim import claim_batch, load_rows
    from statuspage.services.notifications.outbox.deliver import deliver_outbox
    from statuspage.services.notifications.outbox.prepare import DeliveryContext, prepare_row
    from statuspage.services.page import public_base_url

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(database_url, Path(tmp), smtp_port=port)
        with app.app_context():
            comps = seed(n)
            inc, upd = make_incident(comps)
            notify_event("incident_created", inc, upd)
            db.session.commit()
            settings = app.extensions["statuspage.settings"]

            # The exact messages our worker sends, prebuilt for the bare loop (not timed).
            ctx = DeliveryContext(base_url=public_base_url(), settings=settings)
            messages: list[tuple[str, bytes]] = []
            while True:
                ids = claim_batch("prebuild", 1000)
                if not ids:
                    break
                messages += [(p.recipient, p.message) for p in (prepare_row(r, ctx) for r in load_rows("prebuild", ids))]
            db.session.execute(update(OutboxMessage).values(status="pending", claimed_by=None, claimed_until=None))
            db.session.commit()

            # Interleave rounds of the two so that load from other processes hits both alike.
            spinners = start_busy(busy)
            rounds = 5
            chunk = (n + rounds - 1) // rounds
            bare = ours = 0.0
            sent = 0
            for r in range(rounds):
                part = messages[r * chunk:(r + 1) * chunk]
                t0 = time.perf_counter()
                with smtplib.SMTP("127.0.0.1", port) as conn:
                    for rcpt, msg in part:
                        conn.sendmail(settings.mail_from, [rcpt], msg)
                bare += time.perf_counter() - t0
                t0 = time.perf_counter()
                stats = deliver_outbox("bench", batch_size=500, max_batches=max(1, len(part) // 500))
                ours += time.perf_counter() - t0
                sent += stats.sent
            for proc in spinners:
                proc.kill()
                proc.wait()
            assert sent == n, (sent, n)
            size = sum(len(m) for _, m in messages) / len(messages)
            db.session.remove()
            db.engine.dispose()
    return {"n": n, "ours": n / ours, "bare": n / bare, "size": size, "busy": busy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--deliver", type=int, default=10_000)
    parser.add_argument("--pg", default=DEFAULT_PG, help="admin URL of a PostgreSQL server ('' to skip)")
    parser.add_argument("--busy", type=int, default=1,
                        help="also measure delivery with this many spinning processes (0: quiet run only)")
    parser.add_argument("--write-docs", action="store_true", help="append the figures to docs/benchmarks.md")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        run_sink(args.sink)
        return

    backends = {"SQLite": lambda tmp: f"sqlite:///{tmp}/bench.db"}
    if args.pg:
        backends["PostgreSQL"] = lambda _tmp: pg_url(args.pg, "sp_bench_fanout")
    results = []
    sink, port = start_sink()
    try:
        for name, url_for in backends.items():
            with tempfile.TemporaryDirectory() as tmp:
                url = url_for(tmp)
                count, seconds = bench_enqueue(url, args.subscribers)
                for busy in sorted({0, args.busy}):
                    delivery = bench_delivery(url_for(tmp) if name == "PostgreSQL" else f"sqlite:///{tmp}/d{busy}.db",
                                              args.deliver, port, busy)
                    results.append((name, count, seconds, delivery))
                    print(f"{name}: enqueued {count} in {seconds:.2f}s; delivery ({busy} busy) "
                          f"{delivery['ours']:.0f} msg/s vs bare {delivery['bare']:.0f} msg/s", flush=True)
    finally:
        sink.terminate()
        sink.wait()

    lines = [
        "| database | recipients enqueued | enqueue time | goal | machine | delivered | ours (msg/s) "
        "| bare smtplib (msg/s) | ratio | goal |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---|",
    ]
    for name, count, seconds, d in results:
        ratio = d["ours"] / d["bare"]
        machine = "quiet" if not d["busy"] else f"{d['busy']} core(s) kept busy"
        lines.append(f"| {name} | {count:,} | {seconds:.2f} s | {'✓' if seconds <= 10 else '✗'} ≤ 10 s | "
                     f"{machine} | {d['n']:,} | {d['ours']:.0f} | {d['bare']:.0f} | {ratio:.2f}× | "
                     f"{'✓' if ratio >= 0.8 else '✗'} ≥ 0.8× |")
    table = "\n".join(lines)
    print()
    print(table)
    print(f"\nmessage size ≈ {results[0][3]['size'] / 1024:.1f} KB; {os.cpu_count()} CPUs")
    if args.write_docs:
        write_docs(table, args, results[0][3]["size"])


def write_docs(table: str, args, size: float) -> None:
    """Replace the Fan-out section of docs/benchmarks.md, keeping its hand-written "### History"."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    history = ""
    start = text.find("\n## Fan-out")
    if start != -1:
        end = text.find("\n## ", start + 5)
        old = text[start:end] if end != -1 else text[start:]
        if "\n### History" in old:
            history = old[old.index("\n### History"):].rstrip("\n") + "\n"
        text = text[:start] + (text[end:] if end != -1 else "\n")
    section = f"""
## Fan-out

Command: `PYTHONPATH=$PWD python bench/fanout.py --subscribers {args.subscribers} --deliver {args.deliver} --busy {args.busy} --write-docs`
({os.cpu_count()} CPUs; the aiosmtpd sink runs in its own process and only counts; message ≈ {size / 1024:.1f} KB,
multipart text + HTML, personalised per recipient).

- **Enqueue**: {args.subscribers:,} confirmed subscribers (a third follow everything, the rest one of ten
  components), one incident update affecting every component; time of `notify_event` + commit — one
  `INSERT … SELECT … ON CONFLICT (dedupe_key) DO NOTHING`.
- **Delivery**: {args.deliver:,} of those recipients (a subset, to keep the run short), our `deliver_outbox`
  (claim batches of 500 — on PostgreSQL claim and load are one statement —, render the notification once,
  personalise each row just before it is queued, one thread sending over one SMTP connection, outcomes
  committed in groups of 200, at most 400 messages sent but not yet recorded) against a bare `smtplib`
  loop sending the very same prebuilt messages over one reused connection to the same sink, in five
  interleaved rounds. "Kept busy" rows repeat the delivery while `--busy` processes spin on a core each.

{table}
{history}"""
    path.write_text(text.rstrip("\n") + "\n" + section)


if __name__ == "__main__":
    main()
