"""A newcomer's first run: `statuspage run` says where it is and hands out a one-time link that creates
the first admin; a busy port is one clear error; `statuspage --help` shows statuspage, not Flask."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import AuditLog, User
from statuspage.services.users import setup_token
from tests.support import factories as f
from tests.support.console import csrf_from, csrf_token
from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]


def _cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SECRET_KEY": "k" * 32,
            "STATUSPAGE_INSTANCE_PATH": str(tmp_path / "instance"), **extra}


def test_the_setup_link_creates_the_first_admin_once_then_answers_404(app, client):
    link = f"/setup/{setup_token()}"
    page = client.get(link)
    assert page.status_code == 200 and "Create admin and sign in" in page.text
    form = {"csrf_token": csrf_from(page.text), "email": "Founder@Acme.example", "name": "Ana",
            "password": "correct horse battery", "confirm": "correct horse battery"}
    mismatch = client.post(link, data={**form, "confirm": "something else!"})
    assert mismatch.status_code == 400 and "The passwords differ." in mismatch.text
    assert db.session.scalar(select(User)) is None

    done = client.post(link, data=form)
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/")
    admin = db.session.scalar(select(User))
    assert (admin.email, admin.role, admin.name) == ("founder@acme.example", "admin", "Ana")
    assert db.session.scalar(select(AuditLog.actor_label).where(AuditLog.action == "user.create")) == "setup link"
    assert db.session.scalar(select(AuditLog.actor_label).where(AuditLog.action == "auth.login")) == admin.email
    assert admin.last_login_at is not None
    assert client.get("/admin/").status_code == 200  # signed in as the new admin
    assert client.get(link).status_code == 404  # spent
    assert client.post(link, data={**form, "csrf_token": csrf_token(client)}).status_code == 404
    assert len(db.session.scalars(select(User)).all()) == 1


def test_a_link_of_another_instance_an_expired_one_or_garbage_is_404(app, client):
    other = app.test_client()
    assert other.get("/setup/not-a-token").status_code == 404
    app.config["SECRET_KEY"], real = "another-instance-secret-key", app.config["SECRET_KEY"]
    foreign = setup_token()
    app.config["SECRET_KEY"] = real
    assert client.get(f"/setup/{foreign}").status_code == 404
    with time_machine.travel(time.time() - 8 * 24 * 3600, tick=False):
        old = setup_token()
    assert client.get(f"/setup/{old}").status_code == 404
    assert client.get(f"/setup/{setup_token()}").status_code == 200


def test_an_existing_admin_closes_setup_and_the_login_page_says_how_to_get_in_until_then(app, client):
    hint = client.get("/login").text
    assert "No one can sign in yet" in hint and "statuspage setup-link" in hint
    f.user("admin", "boss@acme.test")
    assert client.get(f"/setup/{setup_token()}").status_code == 404
    assert "No one can sign in yet" not in client.get("/login").text


def test_setup_link_command_prints_a_link_until_an_admin_exists(app, runner):
    out = runner.invoke(args=["setup-link"])
    assert out.exit_code == 0 and re.fullmatch(r"http://status\.test/setup/\S+\n", out.output)
    f.user("admin", "boss@acme.test")
    again = runner.invoke(args=["setup-link"])
    assert again.exit_code == 1 and "An admin exists already" in again.output


def test_help_shows_statuspage_and_nothing_of_flask(tmp_path):
    out = subprocess.run([sys.executable, "-m", "statuspage.cli", "--help"], capture_output=True, text=True,
                         timeout=120, env=_cli_env(tmp_path), cwd=ROOT)
    assert out.returncode == 0, out.stderr
    for flask_internal in ("--app", "--env-file", "--debug", "Flask", "limiter"):
        assert flask_internal not in out.stdout, flask_internal
    for ours in ("run", "worker", "setup-link", "config", "user"):
        assert re.search(rf"^  {re.escape(ours)}\s", out.stdout, re.M), ours
    assert re.search(r"^  serve\s", out.stdout, re.M) is None  # an alias kept for `flask --app wsgi serve`
    version = subprocess.run([sys.executable, "-m", "statuspage.cli", "--version"], capture_output=True,
                             text=True, timeout=120, env=_cli_env(tmp_path), cwd=ROOT)
    assert version.stdout.startswith("statuspage ") and "Flask" not in version.stdout


@pytest.mark.slow
def test_run_on_a_busy_port_says_so_once_and_exits(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "statuspage.cli", "run", "--port", str(port), "--no-worker"],
                             capture_output=True, text=True, timeout=120, env=_cli_env(tmp_path), cwd=ROOT)
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: cannot listen on 127.0.0.1:{port}: address already in use. Is statuspage (or "
                      f"another program) already running there? Stop it, or choose another port: "
                      f"`statuspage run --port {port + 1}` (with make: `make run PORT={port + 1}`)."]
    assert "restarting" not in out.stderr and "[supervisor] started" not in out.stderr


@pytest.mark.slow
def test_a_web_server_that_never_comes_up_stops_the_run_instead_of_restarting_forever(tmp_path):
    """The port is taken between our check and gunicorn's bind: gunicorn gives up, and so does `run`."""
    from statuspage.cli import Supervisor

    started = time.monotonic()
    code = Supervisor({"web": [sys.executable, "-c", "import sys; sys.exit(3)"]}, env=_cli_env(tmp_path),
                      cwd=str(ROOT), ready={"web": lambda: False}).run()
    assert code == 1 and time.monotonic() - started < 20


@pytest.mark.slow
def test_run_prints_the_url_and_a_setup_link_that_works(tmp_path):
    port = free_port()
    env = _cli_env(tmp_path)
    subprocess.run([sys.executable, "-m", "statuspage.cli", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    proc = subprocess.Popen([sys.executable, "-m", "statuspage.cli", "run", "--port", str(port), "--no-worker",
                             "--web-workers", "1"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "one-time link" in line:
                break
        text = "".join(lines)
        assert f"statuspage is running: http://127.0.0.1:{port}/" in text, text
        link = re.search(r"one-time link: (http://\S+)", text).group(1)
        with urllib.request.urlopen(link, timeout=30) as resp:
            assert resp.status == 200 and b"Create admin and sign in" in resp.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
