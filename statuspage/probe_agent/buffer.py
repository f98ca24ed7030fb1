"""A bounded on-disk queue of probe results in SQLite, so results survive an outage of the server or a crash.

One ``results`` table (``seq INTEGER PRIMARY KEY AUTOINCREMENT``: the order results were produced,
which is the order they are sent) and a small ``state`` table of named values: how many rows were
dropped, the last slot produced per check, the last list of checks the server assigned. The file is
in WAL mode and every :meth:`ResultBuffer.put_many` is one committed transaction, so a ``kill -9``
loses nothing that was put. When the buffer holds ``max_rows``, putting more drops the *oldest*
rows (counted in :attr:`ResultBuffer.dropped`, persisted): the newest results are the ones that
still say something about now.

One object is shared by the agent's threads; a lock serialises them on one connection.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MAX_ROWS", "BufferedRow", "ResultBuffer"]

DEFAULT_MAX_ROWS = 100_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    check_id INTEGER,
    slot TEXT,
    buffered_at TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class BufferedRow:
    """One buffered result: its place in the queue, when it was buffered, and the row itself."""

    seq: int
    buffered_at: datetime
    row: dict[str, Any]


class ResultBuffer:
    """Results waiting to be sent, oldest first, at most ``max_rows`` of them, in the SQLite file ``path``."""

    def __init__(self, path: str | Path, *, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        if max_rows < 1:
            raise ValueError("max_rows must be at least 1")
        self.path = Path(path)
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed put survives a crash, even of the machine
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(_SCHEMA)
        self._depth = int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        self._dropped = int(self._get("dropped") or 0)
        if self._depth > max_rows:  # reopened with a smaller bound
            with self._lock:
                self._write(lambda: self._trim())

    # --- the queue --------------------------------------------------------------------------------

    def put_many(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Append ``rows`` (JSON-able mappings) in order, in one committed transaction; return how many.

        A row with ``check_id`` and ``slot`` also becomes that check's last produced slot
        (:meth:`last_slots`), in the same transaction. Oldest rows are dropped beyond ``max_rows``.
        """
        items = [dict(row) for row in rows]
        if not items:
            return 0
        now = _iso(datetime.now(UTC))
        records = [(r.get("check_id"), r.get("slot"), now, json.dumps(r, separators=(",", ":"))) for r in items]
        slots = {r["check_id"]: r["slot"] for r in items if r.get("check_id") is not None and r.get("slot")}

        def write() -> None:
            self._db.executemany(
                "INSERT INTO results (check_id, slot, buffered_at, payload) VALUES (?, ?, ?, ?)", records
            )
            self._depth += len(records)
            self._db.executemany(
                "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(f"last_slot:{check_id}", slot) for check_id, slot in slots.items()],
            )
            self._trim()

        with self._lock:
            self._write(write)
        return len(items)

    def peek(self, n: int) -> list[BufferedRow]:
        """The ``n`` oldest rows, oldest first (they stay until :meth:`ack`)."""
        with self._lock:
            found = self._db.execute(
                "SELECT seq, buffered_at, payload FROM results ORDER BY seq LIMIT ?", (max(0, n),)
            ).fetchall()
        return [BufferedRow(seq, datetime.fromisoformat(at), json.loads(payload)) for seq, at, payload in found]

    def ack(self, up_to_seq: int) -> int:
        """Forget every row up to and including ``up_to_seq`` (sent, or never sendable); return how many."""

        def write() -> int:
            removed = self._db.execute("DELETE FROM results WHERE seq <= ?", (up_to_seq,)).rowcount
            self._depth -= removed
            return removed

        with self._lock:
            return self._write(write)

    def depth(self) -> int:
        """How many rows wait to be sent."""
        with self._lock:
            return self._depth

    def oldest(self) -> datetime | None:
        """When the oldest waiting row was buffered (``None`` when empty)."""
        with self._lock:
            found = self._db.execute("SELECT buffered_at FROM results ORDER BY seq LIMIT 1").fetchone()
        return datetime.fromisoformat(found[0]) if found else None

    @property
    def dropped(self) -> int:
        """Rows dropped because the buffer was full, over the life of this file."""
        with self._lock:
            return self._dropped

    # --- what the agent remembers across restarts -------------------------------------------------

    def last_slots(self) -> dict[int, datetime]:
        """The last slot produced per check id (a restarted agent never probes these slots again)."""
        with self._lock:
            found = self._db.execute("SELECT key, value FROM state WHERE key LIKE 'last_slot:%'").fetchall()
        out: dict[int, datetime] = {}
        for key, value in found:
            try:
                out[int(key.split(":", 1)[1])] = datetime.fromisoformat(value)
            except ValueError:
                continue
        return out

    def save_checks(self, payload: Mapping[str, Any]) -> None:
        """Keep the server's last answer to "which checks" (probed on it while the server is away)."""
        with self._lock:
            self._write(lambda: self._set("checks", json.dumps(dict(payload), separators=(",", ":"))))

    def cached_checks(self) -> dict[str, Any] | None:
        """The last list of checks saved with :meth:`save_checks`, or ``None``."""
        with self._lock:
            value = self._get("checks")
        try:
            return json.loads(value) if value else None
        except ValueError:
            return None

    def close(self) -> None:
        """Close the file (everything put is already committed)."""
        with self._lock:
            self._db.close()

    # --- internals (called with the lock held) ------------------------------------------------------

    def _write(self, work: Any) -> Any:
        depth, dropped = self._depth, self._dropped
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._depth, self._dropped = depth, dropped
            raise
        return result

    def _trim(self) -> None:
        excess = self._depth - self.max_rows
        if excess <= 0:
            return
        removed = self._db.execute(
            "DELETE FROM results WHERE seq IN (SELECT seq FROM results ORDER BY seq LIMIT ?)", (excess,)
        ).rowcount
        self._depth -= removed
        self._dropped += removed
        self._set("dropped", str(self._dropped))

    def _get(self, key: str) -> str | None:
        found = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return found[0] if found else None

    def _set(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
