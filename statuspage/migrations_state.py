"""Is the database schema at the newest Alembic revision?"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def head_revision() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def schema_is_current() -> tuple[bool, str]:
    """(current?, 'at <rev>' or 'at <rev>, head is <rev>')."""
    with db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    head = head_revision()
    if current == head:
        return True, f"at {current}"
    return False, f"at {current}, head is {head}"
