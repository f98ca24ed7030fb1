"""Issue 17, item 12: files the product writes that hold secrets are 0600 whatever the umask: the
SQLite database and its WAL/SHM, backups, dumps (plain and gzip), the generated secret key, and mail
dropped as files. And item 13: /metrics answers only with its token, or on loopback without one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from statuspage import create_app
from statuspage.extensions import db
from statuspage.transports.filedrop import FileDropTransport
from tests.conftest import _reset_tables, make_env
from tests.support import factories as f


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)  # what most systems run with: files come out 0644
    yield
    os.umask(old)


def test_the_database_backups_dumps_and_secret_are_0600(tmp_path, loose_umask):
    instance = tmp_path / "instance"
    env = make_env(tmp_path, f"sqlite:///{instance / 'statuspage.db'}")
    env.pop("SECRET_KEY")  # the embedded default: a key generated into the instance folder
    app = create_app({"TESTING": True}, env=env)
    with app.app_context():
        _reset_tables(app)
        f.component("API", "api")
        f.user("admin")  # a password hash in the database
        db.session.commit()
        runner = app.test_cli_runner()
        files = {"database": instance / "statuspage.db", "wal": instance / "statuspage.db-wal",
                 "shm": instance / "statuspage.db-shm", "secret": instance / "secret_key"}
        for args, name in ((["backup", str(tmp_path / "b.bak")], "b.bak"), (["dump", str(tmp_path / "d.jsonl")],
                                                                          "d.jsonl"),
                           (["dump", str(tmp_path / "d.jsonl.gz")], "d.jsonl.gz")):
            out = runner.invoke(args=args)
            assert out.exit_code == 0, out.output
            files[name] = tmp_path / name
        for name, path in files.items():
            assert path.exists(), name
            assert _mode(path) == 0o600, (name, oct(_mode(path)))
        db.session.remove()
        db.engine.dispose()


def test_an_existing_loose_database_is_tightened_at_start(tmp_path, loose_umask):
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    app = create_app({"TESTING": True}, env=make_env(tmp_path, f"sqlite:///{path}"))
    with app.app_context():
        db.engine.dispose()
    assert _mode(path) == 0o600


def test_dropped_mail_is_0600(tmp_path, loose_umask):
    transport = FileDropTransport(Path(tmp_path / "mail"))
    transport.open()
    transport.send("status@acme.test", "ops@customer.test", b"Subject: x\r\n\r\nunsubscribe link")
    (eml,) = (tmp_path / "mail").glob("*.eml")
    assert _mode(eml) == 0o600


# --- /metrics ---------------------------------------------------------------------------------------------


def test_metrics_without_a_token_answer_only_on_loopback(app, client):
    assert client.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    far = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert far.status_code == 403 and b"STATUSPAGE_METRICS_TOKEN" in far.data
    # Through a reverse proxy on the same host the peer is loopback, but the request is not local.
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403
    assert client.get("/metrics", headers={"Forwarded": "for=203.0.113.9"}).status_code == 403


def test_metrics_with_a_token_need_it_from_anywhere(tmp_path, database_url):
    app = create_app({"TESTING": True}, env=make_env(tmp_path, database_url, STATUSPAGE_METRICS_TOKEN="m" * 24))
    with app.app_context():
        _reset_tables(app)
        client = app.test_client()
        assert client.get("/metrics").status_code == 401  # loopback is not enough once a token is set
        ok = client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 24},
                        environ_base={"REMOTE_ADDR": "203.0.113.9"})
        assert ok.status_code == 200
        db.session.remove()
        db.engine.dispose()
