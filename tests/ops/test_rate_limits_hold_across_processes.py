"""Issue 17, items 5 and 16: rate limits hold across processes — two real gunicorn servers on one
database (SQLite and PostgreSQL), or on one real Redis — for login, subscribe and heartbeat pings.

Before, each process counted on its own: with a 10/minute login limit, 20 wrong passwords got through
two processes before a 429.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import redis
import requests

from statuspage.extensions import db
from statuspage.models import RateLimitCounter
from tests.support.smtp import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def redis_url():
    """A Redis server of the test's own on a free port (nothing kept on disk)."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server is needed (Debian: apt-get install redis-server)"
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    client = redis.Redis(host="127.0.0.1", port=port)
    while time.monotonic() < deadline:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    client.close()
    proc.terminate()
    proc.wait(timeout=10)


def _servers(app_env: dict, **extra: str):
    env = {**os.environ, **app_env, "PYTHONPATH": ROOT, "STATUSPAGE_LOGIN_RATE_LIMIT": "10 per minute",
           "STATUSPAGE_SUBSCRIBE_RATE_LIMIT": "5 per minute", "STATUSPAGE_PING_RATE_LIMIT": "4 per minute", **extra}
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for port in ports]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    return procs, urls


def _stop(procs) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _exercise(urls: list[str]) -> None:
    for url in urls:
        _wait_up(url)
    # Logins: a session (cookie + CSRF token) per server, wrong passwords alternating between them.
    sessions = []
    for url in urls:
        s = requests.Session()
        token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(url + "/login", timeout=10).text).group(1)
        sessions.append((s, url, token))
    codes = []
    for i in range(20):
        s, url, token = sessions[i % 2]
        codes.append(s.post(url + "/login", data={"csrf_token": token, "email": "admin@acme.test",
                                                  "password": f"wrong-{i}"}, timeout=10).status_code)
    assert codes.count(429) == 10 and 429 not in codes[:10], codes

    codes = [requests.post(urls[i % 2] + "/subscribe", json={"email": f"u{i}@customer.test"}, timeout=10).status_code
             for i in range(10)]
    assert codes[:5] == [202] * 5 and codes[5:] == [429] * 5, codes

    codes = [requests.post(urls[i % 2] + "/ping/some-heartbeat-token", timeout=10).status_code for i in range(8)]
    assert 429 not in codes[:4] and codes[4:] == [429] * 4, codes
    # Another heartbeat has its own budget.
    assert requests.post(urls[0] + "/ping/another-token", timeout=10).status_code != 429


@pytest.mark.slow
def test_limits_hold_across_two_processes_on_the_database(app, app_env):
    procs, urls = _servers(app_env)
    try:
        _exercise(urls)
    finally:
        _stop(procs)


@pytest.mark.slow
@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_limits_hold_across_two_processes_on_redis(app, app_env, redis_url, db_backend):
    procs, urls = _servers(app_env, STATUSPAGE_RATELIMIT_STORAGE_URL=redis_url)
    try:
        _exercise(urls)
    finally:
        _stop(procs)
    assert db.session.query(RateLimitCounter).count() == 0  # the counters lived in Redis
