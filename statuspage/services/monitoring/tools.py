"""Operator helpers: probe a check now (``statuspage checks run-once``), heartbeat ping URLs and pings.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from checks.probes import evaluate_heartbeat, run_probe
from checks.result import ProbeResult
from checks.spec import CheckSpec

from ...db import utcnow
from ...extensions import db
from ...models import Check
from ..page import public_base_url
from .claims import CHECK_TABLE


def heartbeat_url(check: Check, fallback: str | None = None) -> str | None:
    """The URL a heartbeat check's job calls when it has run (``None`` for other kinds of check).

    Built on the public base URL (``STATUSPAGE_PUBLIC_URL`` or the page's URL; ``fallback``, e.g. the
    console request's own host, when neither is set).
    """
    if check.kind != "heartbeat" or not check.heartbeat_token:
        return None
    return f"{public_base_url(fallback)}/ping/{check.heartbeat_token}"


def run_check_now(slug: str) -> tuple[Check, ProbeResult]:
    """Probe one check immediately, without recording anything (for writing conditions)."""
    check = db.session.scalar(select(Check).where(Check.slug == slug))
    if check is None:
        raise LookupError(f"no check named {slug!r}")
    spec = CheckSpec.from_dict(check.spec)
    if check.kind == "heartbeat":
        return check, evaluate_heartbeat(spec, check.last_ping_at, utcnow(), check.created_at)
    return check, run_probe(spec)


def record_ping(token: str, now: dt.datetime | None = None) -> bool:
    """A heartbeat ping arrived; returns False for an unknown token. The next evaluation sees it."""
    now = now or utcnow()
    result = db.session.execute(
        update(CHECK_TABLE).where(CHECK_TABLE.c.heartbeat_token == token, CHECK_TABLE.c.archived_at.is_(None))
        .values(last_ping_at=now))
    if result.rowcount == 0:
        db.session.rollback()
        return False
    # Judge it at once rather than at the next slot: a recovering job should show up quickly.
    db.session.execute(update(CHECK_TABLE).where(CHECK_TABLE.c.heartbeat_token == token,
                                                 CHECK_TABLE.c.claimed_by.is_(None))
                       .values(next_run_at=now))
    db.session.commit()
    return True
