"""The importer paces its requests, rides out 420/429/5xx with backoff, leaves a consistent database when
the source fails for good, and a run killed mid-way (SIGKILL, a real process) is resumed by the next run
without duplicating anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from statuspage.extensions import db
from statuspage.models import ImportMapping, Incident, IncidentUpdate, Subscriber
from statuspage.services.statuspage_import import StatuspageApiError, StatuspageClient, run_import
from tests.support.live import LiveServer

from .history import seed_history, seed_subscribers

ROOT = Path(__file__).resolve().parents[2]


class Faults:
    """WSGI middleware in front of the source: answers chosen API requests with an error instead."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.plan: dict[int, tuple[int, dict[str, str]]] = {}  # nth API request → (status, headers)
        self.failing: str | None = None  # a query string fragment answered 500 every time

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"].startswith("/api/statuspage/"):
            self.count += 1
            fault = self.plan.get(self.count)
            if fault is None and self.failing and self.failing in environ.get("QUERY_STRING", ""):
                fault = (500, {})
            if fault is not None:
                status, headers = fault
                start_response(f"{status} Error", [("Content-Type", "application/json"), *headers.items()])
                return [b'{"error": "try later"}']
        return self.app(environ, start_response)


@pytest.fixture
def faulty(source):
    with source.app.app_context():
        seed_history()
    faults = Faults(source.app)
    server = LiveServer(faults).start()
    faults.api_url = server.url + "/api/statuspage/v1"
    yield faults
    server.stop()


def read(fn):
    db.session.rollback()
    try:
        return fn()
    finally:
        db.session.rollback()


def mapped(kind: str) -> int:
    return read(lambda: db.session.scalar(select(func.count(ImportMapping.id)).where(ImportMapping.kind == kind)))


def test_420_429_and_503_are_retried_with_backoff_and_the_import_completes(app, source, faulty):
    faults = faulty
    faults.plan = {3: (429, {"Retry-After": "0"}), 5: (420, {}), 8: (503, {"Retry-After": "1"})}
    waits: list[float] = []
    messages: list[str] = []
    client = StatuspageClient(faults.api_url, source.key, source.page_id, min_interval=0, backoff=0.5,
                              sleep=waits.append, on_retry=messages.append)
    report = run_import(client)
    assert report.retries == 3 and report.problems == []
    assert waits == [0.0, 0.5, 1.0]  # Retry-After when given, else the backoff (0.5 × 2^attempt)
    assert [m.split(": ")[1] for m in messages] == ["HTTP 429; retrying in 0.0s", "HTTP 420; retrying in 0.5s",
                                                     "HTTP 503; retrying in 1.0s"]
    assert read(lambda: db.session.scalar(select(func.count(Incident.id)))) == 5
    assert mapped("subscriber") == 5


class Clock:
    """Time that moves only when the client sleeps (work between requests takes no time here)."""

    def __init__(self):
        self.now = 1000.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_requests_are_paced_at_the_configured_rate(app, source, faulty):
    clock = Clock()
    client = StatuspageClient(faulty.api_url, source.key, source.page_id, min_interval=1.0, sleep=clock.sleep,
                              clock=lambda: clock.now)
    report = run_import(client)
    assert report.requests > 5 and clock.waits == [1.0] * (report.requests - 1)


def test_a_backoff_retries_the_same_request_a_bounded_number_of_times(app, source, faulty):
    faulty.plan = {n: (429, {}) for n in range(1, 10)}
    clock = Clock()
    client = StatuspageClient(faulty.api_url, source.key, source.page_id, min_interval=0, backoff=1.0,
                              max_backoff=5.0, max_retries=4, sleep=clock.sleep, clock=lambda: clock.now)
    with pytest.raises(StatuspageApiError, match="still failing after 5 tries"):
        run_import(client)
    assert clock.waits == [1.0, 2.0, 4.0, 5.0]  # doubling, capped


def test_a_source_that_keeps_failing_stops_the_run_and_the_next_run_resumes(app, runner, source, faulty):
    faulty.failing = "state=unconfirmed"
    args = ["import", "statuspage", "--page-id", source.page_id, "--api-url", faulty.api_url,
            "--requests-per-second", "0", "--max-retries", "1"]
    env = {"STATUSPAGE_IMPORT_API_KEY": source.key}
    failed = runner.invoke(args=args, env=env)
    assert failed.exit_code == 1
    assert "still failing after 2 tries (HTTP 500)" in failed.output and "run the command again" in failed.output
    # Every committed unit is whole: each incident has all its updates, the active subscribers are in.
    source_updates = {i["id"]: len(i["incident_updates"]) for i in source.client().get("/incidents")}

    def local_updates():
        rows = db.session.execute(select(Incident.public_id, func.count(IncidentUpdate.id))
                                  .join(IncidentUpdate).where(IncidentUpdate.internal.is_(False))
                                  .group_by(Incident.public_id)).all()
        return dict(rows)

    assert read(local_updates) == source_updates
    assert read(lambda: sorted(db.session.scalars(select(Subscriber.email)))) == [
        "anna@kunde.example", "ben@kunde.example"]

    faulty.failing = None
    resumed = runner.invoke(args=args, env=env)
    assert resumed.exit_code == 0, resumed.output
    assert "incidents and maintenance: 0 created, 0 updated, 5 unchanged" in resumed.output
    assert "subscribers: 3 created, 0 updated, 2 unchanged" in resumed.output
    assert mapped("subscriber") == 5


@pytest.mark.slow
def test_a_killed_run_is_resumed_without_duplicates(app, app_env, runner, source):
    with source.app.app_context():
        seed_history()
        seed_subscribers(1500)
    env = {**os.environ, **app_env, "STATUSPAGE_IMPORT_API_KEY": source.key}
    args = ["import", "statuspage", "--page-id", source.page_id, "--api-url", source.api_url]
    proc = subprocess.Popen([sys.executable, "-m", "statuspage.cli", *args, "--requests-per-second", "8"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while mapped("subscriber") < 100:  # the first page of subscribers is committed
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the import did not get to the subscribers"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    done_before = mapped("subscriber")
    assert 100 <= done_before < 1505, "the kill should land mid-way"
    assert mapped("incident") == 5

    resumed = runner.invoke(args=[*args, "--requests-per-second", "0"], env={"STATUSPAGE_IMPORT_API_KEY": source.key})
    assert resumed.exit_code == 0, resumed.output
    assert "incidents and maintenance: 0 created, 0 updated, 5 unchanged" in resumed.output
    assert f"subscribers: {1505 - done_before} created, 0 updated, {done_before} unchanged" in resumed.output
    assert mapped("subscriber") == 1505
    emails = read(lambda: db.session.scalars(select(Subscriber.email)).all())
    assert len(emails) == len(set(emails)) == 1505
