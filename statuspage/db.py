"""Engine set-up: SQLite pragmas and write transactions, UTC datetimes, transaction helpers."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, DateTime, Integer, any_, bindparam, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from .extensions import db as _db
from .files import private_sqlite


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC, truncated to microseconds like the database."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (identical on SQLite and PostgreSQL), returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use statuspage.db.utcnow()")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text from a bulk path
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC)


# Whether transactions in this context may write. Public GET requests read only: on SQLite they use a
# deferred BEGIN so readers never queue behind the writer lock; everything else takes the write lock
# up front with BEGIN IMMEDIATE.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL, busy_timeout, foreign keys, BEGIN IMMEDIATE (see docs/pitfalls.md: SQLite under concurrency)."""
    if engine.dialect.name != "sqlite":
        return
    private_sqlite(engine.url.database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy (not the driver) emit BEGIN, so we can make it IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A deferred BEGIN that reads then writes fails with SQLITE_BUSY_SNAPSHOT under WAL.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def is_postgres(session_or_engine=None) -> bool:
    """Whether the session (default: the app's ``db.session``) or engine talks to PostgreSQL."""
    if session_or_engine is None:
        session_or_engine = _db.session
    bind = getattr(session_or_engine, "bind", None) or session_or_engine
    if hasattr(bind, "get_bind"):
        bind = bind.get_bind()
    return bind.dialect.name == "postgresql"


def insert_ignore(table, session=None):
    """``INSERT … ON CONFLICT DO NOTHING`` for the session's dialect: add ``.on_conflict_do_nothing()``.

    The backstop of every claim and fan-out (unique keys such as ``check_result(check_id, slot)`` and
    ``outbox(dedupe_key)``): a second writer of the same row changes nothing instead of failing.
    """
    return (postgresql.insert(table) if is_postgres(session) else sqlite.insert(table))


def id_in(column, ids):
    """``column IN ids``; on PostgreSQL ``= ANY(:array)``: one bind parameter, so the statement is
    compiled and prepared once instead of rendering hundreds of parameters each time."""
    ids = list(ids)
    if is_postgres():
        return column == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def assign_changes(obj: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set the attributes of ``obj`` that differ from ``values``; return {name: (old, new)} of what changed.

    Decimals compare by value (``Decimal("1.50") == 1.5``), so a re-applied config changes nothing.
    """
    changes = {}
    for key, new in values.items():
        old = getattr(obj, key)
        if isinstance(old, Decimal) and new is not None:
            same = old == Decimal(str(new))
        else:
            same = old == new
        if not same:
            changes[key] = (old, new)
            setattr(obj, key, new)
    return changes
