"""Shared fixtures, flaskr style: app, client, runner — every database test runs on SQLite and PostgreSQL.

PostgreSQL comes from TEST_DATABASE_URL (default: the local server's `test` database); each pytest
worker gets its own database, created once, and each test starts from empty tables. Without a
reachable PostgreSQL the PostgreSQL half is skipped locally — but fails when STATUSPAGE_REQUIRE_PG=1
(set by .ci/run), so CI can never pass on SQLite alone.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from statuspage import create_app
from statuspage.extensions import db
from tests.support.live import LiveServer
from tests.support.smtp import SMTPServer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_SECRET = "test-secret-key-0123456789abcdef"


def _pg_admin_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


_pg_state: dict[str, object] = {}


def pg_database_url(worker_id: str) -> str:
    """Create (once per pytest worker) a private database and return its URL; skip or fail if unreachable."""
    if "url" in _pg_state:
        return _pg_state["url"]  # type: ignore[return-value]
    if "error" in _pg_state:
        _no_pg(str(_pg_state["error"]))
    admin_url = sa.engine.make_url(_pg_admin_url())
    # One database per checkout and pytest worker, so parallel runs of different trees never collide.
    tree = hashlib.blake2b(str(ROOT).encode(), digest_size=3).hexdigest()
    name = f"sp_test_{tree}_{re.sub(r'[^a-z0-9]', '', worker_id.lower()) or 'main'}"
    try:
        engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        _pg_state["error"] = f"PostgreSQL unreachable at {admin_url.render_as_string()}: {exc}"
        _no_pg(str(_pg_state["error"]))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    _pg_state["url"] = url
    return url


def _no_pg(reason: str):
    if os.environ.get("STATUSPAGE_REQUIRE_PG") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def make_env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {
        "STATUSPAGE_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "STATUSPAGE_PUBLIC_URL": "http://status.test",
        "STATUSPAGE_MAIL_FROM": "status@acme.test",
    }
    env.update(extra)
    return env


_pg_schema_ready: set[str] = set()


def _reset_tables(app) -> None:
    """Empty every table (PostgreSQL: one TRUNCATE; the schema is created once per worker)."""
    engine = db.engine
    if engine.url.get_backend_name() == "postgresql":
        key = str(engine.url)
        if key not in _pg_schema_ready:
            db.drop_all()
            db.create_all()
            _pg_schema_ready.add(key)
        else:
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        db.create_all()


@pytest.fixture(autouse=True)
def _fresh_process_memos():
    """Per-process memos (monitoring delay) must not leak from one test's database into the next."""
    from statuspage.services.site import public as public_site

    public_site._DELAY_MEMO[0] = 0.0
    yield


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(db_backend, tmp_path, worker_id) -> str:
    if db_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'statuspage.db'}"
    return pg_database_url(worker_id)


@pytest.fixture
def app_env(tmp_path, database_url) -> dict[str, str]:
    return make_env(tmp_path, database_url)


@pytest.fixture
def app(app_env):
    app = create_app({"TESTING": True}, env=app_env)
    with app.app_context():
        _reset_tables(app)
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    # pytest-xdist provides this fixture too; this fallback keeps plain `pytest` working.
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@pytest.fixture
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_server(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def target():
    from tests.support.target import TargetServer

    server = TargetServer()
    yield server
    server.stop()


# --- Playwright with Debian's Chromium (see docs/pitfalls.md) ------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("STATUSPAGE_CHROMIUM", "/usr/bin/chromium"),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    }


SCREENSHOTS = ROOT / "test-results" / "screenshots"


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot under test-results/screenshots/ (look at them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
