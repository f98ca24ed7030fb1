"""Import email subscribers with their components and state, page by page (one commit each).

Statuspage's Subscriber record has no state field: the state comes from which list a subscriber is
in (``state=active|unconfirmed|quarantined`` and ``/subscribers/unsubscribed``). Writing goes through
services.subscriptions.import_email_subscribers, which never mails anyone and never re-subscribes
someone who opted out. SMS, Slack and webhook subscribers are counted as skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from ...extensions import db
from ...models import Component, ImportMapping, Subscriber
from ..audit import Actor
from ..notifications.subscriptions import (
    ImportedSubscriber,
    SubscriptionError,
    import_email_subscribers,
    normalize_email,
)
from .client import StatuspageApiError, StatuspageClient
from .mapping import SOURCE, ImportReport, Mappings, digest
from .payloads import PayloadError, SourceSubscriber, parse_subscriber

STATES = ("active", "unconfirmed", "quarantined")


def subscriber_pages(client: StatuspageClient) -> Iterator[tuple[str, list[Any]]]:
    """(state, one page of raw subscribers) for every email subscriber of the source, in every state."""
    for state in STATES:
        for batch in client.pages("/subscribers", params={"type": "email", "state": state},
                                  size=100, size_param="limit", first_page=0):
            yield state, batch
    for batch in client.pages("/subscribers/unsubscribed", size=100):
        yield "unsubscribed", batch


def total_subscribers(client: StatuspageClient) -> int | None:
    """How many email subscribers the source has (for progress); None if it will not say."""
    try:
        counts = client.get(client.page_path("/subscribers/count"), {"type": "email", "state": "all"})
    except StatuspageApiError:  # progress only: the import itself does not need it
        return None
    value = counts.get("email") if isinstance(counts, dict) else None
    return value if isinstance(value, int) else None


def _parse(state: str, batch: list[Any], known: set[str],
           report: ImportReport) -> list[tuple[SourceSubscriber, str, str]]:
    """[(record, normalised email, digest)] of the email subscribers in a page; problems are noted."""
    out = []
    for raw in batch:
        try:
            src = parse_subscriber(raw)
        except PayloadError as exc:
            report.problems.append(str(exc))
            report["subscriber"].skipped += 1
            continue
        if src.mode != "email" or not src.email:
            report["subscriber"].note("skipped", f"{src.id} ({src.mode} subscribers are not imported)")
            continue
        try:
            email = normalize_email(src.email)
        except SubscriptionError:
            report.problems.append(f"subscriber {src.id}: not a valid email address")
            report["subscriber"].skipped += 1
            continue
        comps = sorted(c for c in src.components if c in known)
        key = digest({"email": email, "state": state, "components": comps, "created": src.created_at,
                      "quarantined": src.quarantined_at})
        out.append((src, email, key))
    return out


def plan_subscribers(state: str, batch: list[Any], maps: Mappings, known: set[str], report: ImportReport) -> None:
    """Dry run: count what a page would change, reading only."""
    parsed = _parse(state, batch, known, report)
    rows = maps.some("subscriber", [src.id for src, _, _ in parsed])
    emails = set(db.session.scalars(select(Subscriber.email).where(
        Subscriber.email.in_([email for _, email, _ in parsed])))) if parsed else set()
    for src, email, key in parsed:
        row = rows.get(src.id)
        if row is not None and row.digest == key:
            report["subscriber"].note("unchanged", email)
        else:
            report["subscriber"].note("updated" if row is not None or email in emails else "created", email)


def apply_subscribers(state: str, batch: list[Any], maps: Mappings, components: dict[str, Component],
                      report: ImportReport, *, actor: Actor, now: dt.datetime) -> None:
    """Write one page of subscribers (does not commit)."""
    parsed = _parse(state, batch, set(components), report)
    rows = maps.some("subscriber", [src.id for src, _, _ in parsed])
    todo = []
    for src, email, key in parsed:
        row = rows.get(src.id)
        if row is not None and row.digest == key:
            report["subscriber"].note("unchanged", email)
        else:
            todo.append((src, email, key, row))
    if not todo:
        return
    records = [ImportedSubscriber(email=email, state=state,
                                  components=[components[c] for c in src.components if c in components] or None,
                                  created_at=src.created_at, quarantined_at=src.quarantined_at)
               for src, email, _, _ in todo]
    written = import_email_subscribers(records, actor=actor, now=now)
    new_rows = []
    for src, email, key, row in todo:
        sub_id, outcome = written[email]
        report["subscriber"].note(outcome, email)
        if row is None:
            new_rows.append({"source": SOURCE, "source_page_id": maps.page_id, "kind": "subscriber",
                             "source_id": src.id, "local_id": str(sub_id), "digest": key, "created_at": now,
                             "updated_at": now})
        else:
            row.local_id, row.digest, row.updated_at = str(sub_id), key, now
    if new_rows:  # a hundred rows a page, tens of thousands a run: one INSERT, no ORM objects
        db.session.execute(ImportMapping.__table__.insert(), new_rows)
