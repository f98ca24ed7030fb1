"""Crash test: kill -9 a real `statuspage worker` in the middle of a 5,000-recipient fan-out, start it
again: every recipient gets the message, duplicates stay within what was in flight.

The lease is ten minutes here, longer than the test may take: the restarted worker must see that its
predecessor's process is gone and take over its rows at once (as systemd's restart would), not wait."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from statuspage.db import write_intent
from statuspage.extensions import db
from statuspage.models import OutboxMessage
from statuspage.services.notifications.outbox.record import MAX_UNRECORDED
from tests.conftest import ROOT
from tests.support import factories as f

RECIPIENTS = 5000
BATCH = 500  # rows one delivery job claims at a time (min(STATUSPAGE_WORKER_BATCH, 500))


def _start_worker(app_env, log_path):
    env = {**os.environ, **app_env, "STATUSPAGE_OUTBOX_LEASE": "600", "PYTHONPATH": str(ROOT)}
    log = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "statuspage.cli", "worker"], env=env, cwd=str(ROOT),
                            stdout=log, stderr=subprocess.STDOUT)


def _count(status: str) -> int:
    token = write_intent.set(False)  # read without taking SQLite's write lock
    try:
        n = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == status))
        db.session.commit()
        return n
    finally:
        write_intent.reset(token)


@pytest.mark.slow
def test_kill_9_mid_fan_out_loses_nothing(app, app_env, smtp_server, tmp_path, db_backend):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.many_subscribers(RECIPIENTS)
    f.announced_incident("Big outage", [api])
    assert _count("pending") == RECIPIENTS
    log_path = tmp_path / "worker.log"

    first = _start_worker(app_env, log_path)
    try:
        deadline = time.monotonic() + 120
        while len(smtp_server.messages) < RECIPIENTS // 3 and time.monotonic() < deadline:
            assert first.poll() is None, log_path.read_text()
            time.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    at_kill = len(smtp_server.messages)
    assert 0 < at_kill < RECIPIENTS, "the worker must die mid-fan-out for this test to mean anything"
    in_flight = _count("sending")

    second = _start_worker(app_env, log_path)
    try:
        deadline = time.monotonic() + 180
        while _count("sent") < RECIPIENTS and time.monotonic() < deadline:
            assert second.poll() is None, log_path.read_text()
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()

    assert _count("sent") == RECIPIENTS, log_path.read_text()[-3000:]
    received = Counter(r for m in smtp_server.messages for r in m.rcpt_tos)
    missing = [f"user{i}@example.test" for i in range(RECIPIENTS) if received[f"user{i}@example.test"] == 0]
    duplicates = sum(received.values()) - len(received)
    print(f"\n[crash test {db_backend}] delivered before kill: {at_kill}, rows in flight at kill: {in_flight}, "
          f"total received: {sum(received.values())}, duplicates: {duplicates} "
          f"(bound: {MAX_UNRECORDED} sent-but-unrecorded permits, under one claimed batch of {BATCH})")
    assert missing == []
    # The promise: a crash re-sends at most what was in flight — one claimed batch. The mail
    # thread cannot run further ahead of the commits than its permits allow, which is less than that.
    assert MAX_UNRECORDED <= BATCH
    assert duplicates <= MAX_UNRECORDED
