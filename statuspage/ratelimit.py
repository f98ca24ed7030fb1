"""Rate limits that hold across gunicorn workers and replicas: counters in the database by default.

Flask-Limiter keeps its counters in a ``limits`` storage. The default, ``memory://``, is per process:
with four gunicorn workers a "10 per minute" login limit lets 40 guesses through, and every replica
adds as many. ``STATUSPAGE_RATELIMIT_STORAGE_URL`` chooses the storage:

* ``database`` (the default): the app's own database, no extra service. Each hit is one atomic
  ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on ``rate_limit_counter`` (fixed windows), on its own
  connection and committed at once, so a request that fails later still counted. The worker prunes
  expired rows hourly.
* ``redis://host:port/db`` (``pip install statuspage[redis]``): Redis, for many replicas under heavy
  traffic.
* ``memory://``: per process, for a single-process development server only.

On SQLite a hit made while the request already holds a transaction joins it (a second connection
would wait for the thread's own write lock); Flask-Limiter checks a view's limit before the view
runs, so in a server this does not happen.
"""

from __future__ import annotations

import hashlib
import time

from flask import current_app
from limits.storage import Storage
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .db import write_intent
from .extensions import db
from .models import RateLimitCounter

SCHEME = "statuspage+db"
_MAX_KEY = 200


def _key(key: str) -> str:
    if len(key) <= _MAX_KEY:
        return key
    return key[: _MAX_KEY - 41] + "#" + hashlib.sha1(key.encode()).hexdigest()


class DatabaseStorage(Storage):
    """A ``limits`` storage in the app's database (fixed window; SQLite ≥ 3.35 or PostgreSQL)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count ``amount`` hits in the window of ``key`` (a new window when the last one ended)."""
        now = time.time()
        table = RateLimitCounter.__table__
        insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
        excluded_window = table.c.expires_at <= now
        stmt = insert(table).values(key=_key(key), count=amount, expires_at=now + expiry)
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
            "count": case((excluded_window, amount), else_=table.c.count + amount),
            "expires_at": case((excluded_window, now + expiry), else_=table.c.expires_at),
        }).returning(table.c.count)
        return int(_run(stmt, write=True).scalar_one())

    def _row(self, key: str):
        return _run(select(RateLimitCounter.count, RateLimitCounter.expires_at)
                    .where(RateLimitCounter.key == _key(key)), write=False).first()

    def get(self, key: str) -> int:
        """Hits counted in the current window of ``key`` (0 when it ended)."""
        row = self._row(key)
        return int(row[0]) if row is not None and row[1] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        """When the current window of ``key`` ends (Unix time)."""
        row = self._row(key)
        return float(row[1]) if row is not None and row[1] > time.time() else time.time()

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with db.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        """Forget every counter."""
        with db.engine.begin() as conn:
            return conn.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        """Forget the counter of ``key``."""
        with db.engine.begin() as conn:
            conn.execute(delete(RateLimitCounter).where(RateLimitCounter.key == _key(key)))


def _run(stmt, *, write: bool):
    """Execute on a connection of our own (committed at once), or inside the request's transaction on
    SQLite when it already holds one: the request may hold this thread's write lock (only when something
    touched the database before the limit was checked, or an app context spans requests, as in tests),
    and a second connection would wait for it."""
    if db.engine.dialect.name == "sqlite" and db.session().in_transaction():
        return db.session.execute(stmt)
    token = write_intent.set(write)
    try:
        with db.engine.begin() as conn:
            result = conn.execute(stmt)
            return result.freeze()() if result.returns_rows else result
    finally:
        write_intent.reset(token)


def prune_rate_limits(now: float | None = None) -> int:
    """Delete counters whose window has ended; returns how many. Commits (its own connection)."""
    cutoff = time.time() if now is None else now
    with db.engine.begin() as conn:
        return conn.execute(delete(RateLimitCounter).where(RateLimitCounter.expires_at <= cutoff)).rowcount or 0


def limit_setting(name: str) -> str:
    """A limit string from the settings (``login_rate_limit`` …), read when a request is checked."""
    return getattr(current_app.extensions["statuspage.settings"], name)
