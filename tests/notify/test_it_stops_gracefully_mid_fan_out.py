"""SIGTERM in the middle of a fan-out (a deploy restarting the worker): the worker records every
message it sent, hands back every row it had not tried, and exits; started again it finishes the job —
nobody is missed and, unlike a crash, nobody gets the message twice."""

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
from tests.conftest import ROOT
from tests.support import factories as f

RECIPIENTS = 3000


def _start_worker(app_env, log_path):
    env = {**os.environ, **app_env, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "statuspage.cli", "worker"], env=env, cwd=str(ROOT),
                            stdout=open(log_path, "ab"), stderr=subprocess.STDOUT)


def _counts() -> dict[str, int]:
    token = write_intent.set(False)
    try:
        rows = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        db.session.commit()
        return rows
    finally:
        write_intent.reset(token)


@pytest.mark.slow
def test_sigterm_mid_fan_out_records_everything_and_resumes_without_duplicates(app, app_env, smtp_server, tmp_path):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.many_subscribers(RECIPIENTS)
    f.announced_incident("Big outage", [api])
    log_path = tmp_path / "worker.log"

    first = _start_worker(app_env, log_path)
    deadline = time.monotonic() + 120
    while len(smtp_server.messages) < RECIPIENTS // 4 and time.monotonic() < deadline:
        assert first.poll() is None, log_path.read_text()
        time.sleep(0.01)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 0, log_path.read_text()[-3000:]

    received_at_stop = len(smtp_server.messages)
    counts = _counts()
    assert 0 < received_at_stop < RECIPIENTS, "the stop must land mid-fan-out for this test to mean anything"
    assert counts.get("sending", 0) == 0, counts  # nothing left claimed
    assert counts.get("sent", 0) == received_at_stop, (counts, received_at_stop)  # every send recorded

    second = _start_worker(app_env, log_path)
    try:
        deadline = time.monotonic() + 120
        while _counts().get("sent", 0) < RECIPIENTS and time.monotonic() < deadline:
            assert second.poll() is None, log_path.read_text()
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    received = Counter(r for m in smtp_server.wait_for(RECIPIENTS) for r in m.rcpt_tos)
    assert len(received) == RECIPIENTS
    assert sum(received.values()) == RECIPIENTS, "a graceful stop sends nobody the message twice"
