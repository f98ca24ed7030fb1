"""Backup and restore (native, consistent while running) and a portable JSON-lines dump/load.

``dump``/``load`` is the path from the embedded SQLite to PostgreSQL: every table, every row, in
foreign-key order, loaded into an empty (migrated) database of either kind.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Date, DateTime, Numeric, func, insert, select, text
from sqlalchemy.types import LargeBinary

from ..extensions import db
from ..files import create_private
from ..migrations_state import head_revision

DUMP_FORMAT = "statuspage-dump"
DUMP_VERSION = 1


class BackupError(RuntimeError):
    """A backup, restore, dump or load could not be done; the message says why and what to do."""


def _sqlite_path() -> Path:
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError("not a file-backed SQLite database")
    return Path(url.database)


def _run_pg_tool(tool: str, options: list[str], fallback: str, *, dbname_flag: str | None = None,
                 trailing: list[str] | None = None) -> None:
    """Run pg_dump/pg_restore against the app's database (password through PGPASSWORD, not argv)."""
    exe = shutil.which(tool)
    if exe is None:
        raise BackupError(f"{tool} is not installed; install postgresql-client, or {fallback}")
    url = db.engine.url
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    target = [dbname_flag, url.database or ""] if dbname_flag else [url.database or ""]
    args = [exe, *options, "-h", url.host or "localhost", "-p", str(url.port or 5432),
            "-U", url.username or "postgres", *target, *(trailing or [])]
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"{tool} failed: {proc.stderr.strip()}")


def backup(path: str) -> str:
    """Write a consistent backup of the live database to `path`; returns a description."""
    backend = db.engine.url.get_backend_name()
    create_private(path)  # it holds password hashes, secrets and addresses: 0600 before anything is written
    if backend == "sqlite":
        src = sqlite3.connect(_sqlite_path())
        dst = sqlite3.connect(path)
        try:
            with dst:
                src.backup(dst)  # SQLite's online backup API: consistent while writers run
        finally:
            dst.close()
            src.close()
        return f"SQLite online backup written to {path}"
    _run_pg_tool("pg_dump", ["--format=custom", "--no-owner", f"--file={path}"], "use `statuspage dump`")
    return f"pg_dump (custom format) written to {path}"


def restore(path: str) -> str:
    """Replace the database's contents with a backup made by `backup`."""
    if not os.path.exists(path):
        raise BackupError(f"{path}: no such file")
    backend = db.engine.url.get_backend_name()
    db.session.remove()
    db.engine.dispose()
    if backend == "sqlite":
        src = sqlite3.connect(path)
        try:
            src.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path}: not an SQLite backup ({exc})") from None
        dst = sqlite3.connect(_sqlite_path())
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
            src.close()
        return f"restored SQLite database from {path}"
    _run_pg_tool("pg_restore", ["--clean", "--if-exists", "--no-owner", "--single-transaction"],
                 "use `statuspage load`", dbname_flag="-d", trailing=[path])
    return f"restored PostgreSQL database from {path}"


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _decode(column, value: Any) -> Any:
    if value is None:
        return None
    ctype = column.type
    impl = getattr(ctype, "impl", ctype)
    if isinstance(impl, DateTime) or isinstance(ctype, DateTime):
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if isinstance(impl, Date):
        return dt.date.fromisoformat(value)
    if isinstance(impl, Numeric) and not isinstance(value, float | int):
        return decimal.Decimal(value)
    if isinstance(impl, LargeBinary):
        return base64.b64decode(value)
    return value


def _open(path: str, mode: str) -> IO[str]:
    if mode == "w":  # a dump holds password hashes, secrets and addresses: 0600 before a byte is written
        create_private(path)
    if path.endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return open(path, mode, encoding="utf-8")


def dump(path: str) -> dict[str, int]:
    """Write every table's rows as JSON lines (gzip when `path` ends in .gz); returns rows per table."""
    counts: dict[str, int] = {}
    tables = db.metadata.sorted_tables
    with _open(path, "w") as out:
        out.write(json.dumps({"format": DUMP_FORMAT, "version": DUMP_VERSION, "revision": head_revision(),
                              "tables": [t.name for t in tables]}) + "\n")
        for table in tables:
            n = 0
            pk = list(table.primary_key.columns)
            result = db.session.execute(select(table).order_by(*pk)).mappings()
            for row in result:
                out.write(json.dumps({"t": table.name, "r": {k: _encode(v) for k, v in row.items()}},
                                     ensure_ascii=False) + "\n")
                n += 1
            counts[table.name] = n
    db.session.rollback()
    return counts


def load(path: str, *, batch: int = 1000) -> dict[str, int]:
    """Load a dump into an empty, migrated database of either kind; returns rows per table."""
    tables = {t.name: t for t in db.metadata.sorted_tables}
    for name, table in tables.items():
        if db.session.scalar(select(func.count()).select_from(table)):
            raise BackupError(f"the database is not empty (table {name} has rows); load needs an empty database")
    counts: dict[str, int] = {}
    pending: dict[str, list[dict]] = {}

    def flush(name: str) -> None:
        rows = pending.pop(name, [])
        if rows:
            db.session.execute(insert(tables[name]), rows)

    with _open(path, "r") as src:
        header = json.loads(src.readline() or "{}")
        if header.get("format") != DUMP_FORMAT:
            raise BackupError(f"{path}: not a statuspage dump")
        if header.get("version") != DUMP_VERSION:
            raise BackupError(f"{path}: dump version {header.get('version')} is not supported")
        current = None
        for line_no, line in enumerate(src, start=2):
            try:
                item = json.loads(line)
                table = tables[item["t"]]
            except (ValueError, KeyError) as exc:
                raise BackupError(f"{path}:{line_no}: unreadable line ({exc})") from None
            if current is not None and item["t"] != current:
                flush(current)
            current = item["t"]
            row = {c.name: _decode(c, item["r"].get(c.name)) for c in table.columns if c.name in item["r"]}
            pending.setdefault(item["t"], []).append(row)
            counts[item["t"]] = counts.get(item["t"], 0) + 1
            if len(pending[item["t"]]) >= batch:
                flush(item["t"])
        for name in list(pending):
            flush(name)
    if db.engine.url.get_backend_name() == "postgresql":
        # Identity sequences must continue after the loaded ids.
        for table in tables.values():
            pk = list(table.primary_key.columns)
            if len(pk) == 1 and isinstance(pk[0].type.python_type, type) and pk[0].type.python_type is int:
                db.session.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{pk[0].name}'), "
                    f"COALESCE((SELECT MAX(\"{pk[0].name}\") FROM \"{table.name}\"), 0) + 1, false)"))
    db.session.commit()
    return counts
