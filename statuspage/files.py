"""Files the product writes that hold secrets are readable by their owner only (0600).

The SQLite database (password hashes, webhook secrets, heartbeat tokens, API token hashes, every
address) and its ``-wal``/``-shm`` companions, backups and dumps, the generated secret key and the
mail dropped as files (signed unsubscribe links) — whatever the process's umask says. SQLite creates
its ``-wal`` and ``-shm`` files with the database file's own permissions, so creating the database
0600 covers them; an existing, looser database is tightened at start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE = 0o600


def create_private(path: str | os.PathLike) -> None:
    """Make sure ``path`` exists and is 0600 (created empty if missing, tightened if looser)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        tighten(path)
    else:
        os.close(fd)


def tighten(path: str | os.PathLike) -> None:
    """Drop group and other permissions from an existing file (no-op when it is missing or not ours)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except (FileNotFoundError, PermissionError):
        pass


def private_sqlite(database: str | None) -> None:
    """Create the SQLite database file 0600 before SQLite does, and tighten it and its companions."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    create_private(path)
    for suffix in ("-wal", "-shm", "-journal"):
        tighten(f"{path}{suffix}")
