"""Audit log writes. Every service that changes state records who did it."""

from __future__ import annotations

import datetime as dt
import decimal
import getpass
from dataclasses import dataclass
from typing import Any

from ..extensions import db
from ..models import AuditLog


@dataclass(frozen=True)
class Actor:
    """Who is acting: a person, a token, the CLI or the system (checks engine, scheduler)."""

    type: str
    label: str
    id: int | None = None
    ip: str | None = None
    role: str = "admin"

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type="system", label=label)

    @classmethod
    def cli(cls) -> Actor:
        try:
            who = getpass.getuser()
        except Exception:  # noqa: BLE001 - no login name in some containers
            who = "unknown"
        return cls(type="cli", label=f"cli:{who}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def record(actor: Actor, action: str, object_type: str, object_id: Any = None, *,
           before: dict | None = None, after: dict | None = None) -> None:
    """Add an audit row to the current transaction."""
    db.session.add(AuditLog(
        actor_type=actor.type, actor_id=actor.id, actor_label=actor.label, action=action,
        object_type=object_type, object_id=None if object_id is None else str(object_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None, ip=actor.ip,
    ))
