"""Recording delivery outcomes in small groups, with backoff, bounces and quarantine.

Outcomes are committed in groups (``GROUP_SIZE`` rows or ``GROUP_SECONDS``). Transient failures
(connection trouble, 4xx) retry with exponential backoff and jitter; permanent ones (5xx) fail the row
and count a bounce on the subscriber, who is quarantined after ``settings.mail_bounce_limit``
consecutive bounces (webhooks: after ``settings.webhook_failure_limit`` failed attempts of any kind).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, update

from ....db import id_in, utcnow
from ....extensions import db
from ....models import OutboxMessage, Subscriber, WorkerHeartbeat
from ....ops.metrics import DELIVERIES
from ....transports import DeliveryError
from .. import subscriptions
from .prepare import Prepared

O = OutboxMessage.__table__  # noqa: E741 - Core table: bulk statements without ORM objects
S = Subscriber.__table__

GROUP_SIZE = 200  # outcomes per commit: roughly what a crash can re-send


GROUP_SECONDS = 2.0


# Mail sent but not yet committed as sent, at most: what a crash can make us send twice (< one batch).
MAX_UNRECORDED = 2 * GROUP_SIZE


BACKOFF_BASE_SECONDS = 30.0


BACKOFF_CAP_SECONDS = 3600.0


MAX_ATTEMPTS = 12  # ~ a day of retries with the cap above


def _cfg(name: str, default: float) -> float:
    return float(current_app.config.get(f"OUTBOX_{name}", default))


def backoff_seconds(attempts: int, *, base: float | None = None, cap: float | None = None) -> float:
    """Delay before attempt ``attempts + 1``: base·2^(attempts-1), capped, with ±50 % jitter."""
    base = _cfg("RETRY_BASE_SECONDS", BACKOFF_BASE_SECONDS) if base is None else base
    cap = _cfg("RETRY_CAP_SECONDS", BACKOFF_CAP_SECONDS) if cap is None else cap
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.5, 1.5)


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    quarantined: int = 0

    def add(self, other: DeliveryStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Recorder:
    """Buffers outcomes and commits them in small groups (renewing the lease of the rest)."""

    def __init__(self, worker_id: str, stats: DeliveryStats):
        self.worker_id = worker_id
        self.outstanding: set[int] = set()  # claimed by this run, outcome not yet recorded
        self.stats = stats
        self.sent: list[dict] = []
        self.retry: list[dict] = []
        self.final: list[dict] = []  # failed or cancelled
        self.bounces: list[tuple[int, str, str]] = []  # (subscriber_id, channel, error)
        self.successes: set[int] = set()
        self.last_flush = time.monotonic()
        self.lease_renewed_at = time.monotonic()  # the claim itself set the first lease
        settings = current_app.extensions["statuspage.settings"]
        self.settings = settings
        self.max_attempts = int(_cfg("MAX_ATTEMPTS", MAX_ATTEMPTS))
        self.permits_held = 0  # outcomes of the mail thread buffered here: their permits return on commit
        self.release_permits: Callable[[int], None] | None = None

    def pending(self) -> int:
        return len(self.sent) + len(self.retry) + len(self.final)

    def due(self) -> bool:
        return self.pending() >= GROUP_SIZE or time.monotonic() - self.last_flush >= GROUP_SECONDS

    def sent_ok(self, p: Prepared, now: dt.datetime) -> None:
        self.outstanding.discard(p.id)
        self.sent.append({"b_id": p.id, "b_attempts": p.attempts + 1, "b_mid": p.message_id, "b_now": now,
                          "ch": p.channel})
        if p.subscriber_id is not None:
            self.successes.add(p.subscriber_id)

    def failed(self, p: Prepared, error: DeliveryError | str, now: dt.datetime, *, count_bounce: bool) -> None:
        self.outstanding.discard(p.id)
        text = str(error)[:2000]
        permanent = isinstance(error, str) or error.permanent
        attempts = p.attempts + 1
        if count_bounce and p.subscriber_id is not None:
            self.bounces.append((p.subscriber_id, p.channel, text))
            self.successes.discard(p.subscriber_id)
        if permanent or attempts >= self.max_attempts:
            self.final.append({"b_id": p.id, "b_attempts": attempts, "b_status": "failed", "b_err": text,
                               "ch": p.channel})
        else:
            self.retry.append({"b_id": p.id, "b_attempts": attempts, "b_err": text,
                               "b_next": now + dt.timedelta(seconds=backoff_seconds(attempts)), "ch": p.channel})

    def cancelled(self, p: Prepared) -> None:
        self.outstanding.discard(p.id)
        self.final.append({"b_id": p.id, "b_attempts": p.attempts, "b_status": "cancelled", "b_err": p.reason,
                           "ch": p.channel})

    def flush(self) -> None:
        """Commit the buffered outcomes in one short write transaction."""
        session = db.session
        try:
            if self.sent:
                # One statement per notification (rows of one notification share a Message-ID), not one
                # per row: sending is the hot path of a fan-out.
                groups: dict[str | None, list[dict]] = {}
                for row in self.sent:
                    groups.setdefault(row["b_mid"], []).append(row)
                for mid, rows in groups.items():
                    session.execute(update(O).where(id_in(O.c.id, [r["b_id"] for r in rows])).values(
                        status="sent", sent_at=max(r["b_now"] for r in rows), attempts=O.c.attempts + 1,
                        # claimed_by stays: a sent row records which worker delivered it.
                        message_id=mid, claimed_until=None))
            if self.retry:
                session.execute(update(O).where(O.c.id == bindparam("b_id")).values(
                    status="pending", attempts=bindparam("b_attempts"), last_error=bindparam("b_err"),
                    next_attempt_at=bindparam("b_next"), claimed_by=None, claimed_until=None), self.retry)
            if self.final:
                session.execute(update(O).where(O.c.id == bindparam("b_id")).values(
                    status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                    last_error=bindparam("b_err"), claimed_by=None, claimed_until=None), self.final)
            if self.successes:
                session.execute(update(S).where(id_in(S.c.id, self.successes), S.c.failure_count > 0)
                                .values(failure_count=0))
            self._count_bounces()
            n_sent = len(self.sent)
            if n_sent:
                session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.id == self.worker_id)
                                .values(messages_sent=WorkerHeartbeat.messages_sent + n_sent))
            # Renew the lease of what this run still holds: a slow, alive worker keeps its rows.
            lease_seconds = self.settings.outbox_lease_seconds
            if self.outstanding and time.monotonic() - self.lease_renewed_at > lease_seconds / 3:
                self.lease_renewed_at = time.monotonic()
                lease = utcnow() + dt.timedelta(seconds=lease_seconds)
                session.execute(update(O).where(id_in(O.c.id, self.outstanding),
                                                O.c.claimed_by == self.worker_id,
                                                O.c.status == "sending").values(claimed_until=lease))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        self._count_outcomes()
        self.sent, self.retry, self.final, self.bounces = [], [], [], []
        self.successes = set()
        self.last_flush = time.monotonic()
        if self.permits_held and self.release_permits is not None:
            self.release_permits(self.permits_held)
        self.permits_held = 0

    def _count_outcomes(self) -> None:
        """What this flush committed, into the run's stats and statuspage_deliveries_total{channel, result}."""
        counts = Counter((row["ch"], result) for result, rows in (("sent", self.sent), ("retry", self.retry))
                         for row in rows)
        counts.update((row["ch"], row["b_status"]) for row in self.final)  # failed | cancelled
        by_result: Counter[str] = Counter()
        for (channel, result), n in counts.items():
            DELIVERIES.labels(channel, result).inc(n)
            by_result[result] += n
        self.stats.sent += by_result["sent"]
        self.stats.retried += by_result["retry"]
        self.stats.failed += by_result["failed"]
        self.stats.cancelled += by_result["cancelled"]

    def _count_bounces(self) -> None:
        for subscriber_id, channel, error in self.bounces:
            limit = self.settings.webhook_failure_limit if channel == "webhook" else self.settings.mail_bounce_limit
            count = db.session.execute(
                update(S).where(S.c.id == subscriber_id)
                .values(failure_count=S.c.failure_count + 1, last_error=error[:1000])
                .returning(S.c.failure_count)).scalar()
            if count is not None and count >= limit:
                subscriptions.quarantine(subscriber_id, f"{count} consecutive failures; last: {error}")
                self.stats.quarantined += 1
