"""Outbox delivery: claim due rows, send them over one reused connection, record every outcome.

Claiming (exactly once across worker processes):
- PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` then ``UPDATE … SET status='sending', claimed_by,
  claimed_until`` in one short transaction, committed before any network I/O.
- SQLite: a compare-and-set ``UPDATE … WHERE id IN (:candidates) AND <still due>``; the rows this worker
  won are the ones now carrying its name and this claim's lease instant.
Delivery uses ``claim_rows``, which on PostgreSQL claims and loads a batch in one statement. A claim is
a lease: rows of a worker that died while 'sending' become claimable again once ``claimed_until``
passes (or at once, when a worker on the same host sees the process is gone: ``services.recovery``);
a live worker renews the lease of what it still holds as it records progress.

Outcomes are committed in small groups (``GROUP_SIZE`` rows or ``GROUP_SECONDS``), and the mail thread
needs a permit per message that only the commit of its outcome gives back, so a crash re-sends at most
``MAX_UNRECORDED`` messages (sent, not yet recorded) and never loses a row.

Transient failures (connection trouble, 4xx) retry with exponential backoff and jitter; permanent ones
(5xx) fail the row and count a bounce on the subscriber, who is quarantined after
``settings.mail_bounce_limit`` consecutive bounces (webhooks: after ``settings.webhook_failure_limit``
consecutive failed attempts of any kind).
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, select, union_all, update

from ..db import is_postgres, utcnow
from ..extensions import db
from ..models import OutboxMessage, Subscriber, WorkerHeartbeat
from ..transports import DeliveryError, mail_transport_for
from ..transports.webhook import WebhookTransport
from . import subscriptions
from .audit import Actor, record
from .notification_content import (
    ContentGone,
    Notification,
    load_notification,
    render_subscription_email,
    unsubscribe_mailto,
)
from .notify import EVENTS

log = logging.getLogger("statuspage.outbox")

GROUP_SIZE = 200  # outcomes per commit: roughly what a crash can re-send
GROUP_SECONDS = 2.0
# Mail sent but not yet committed as sent, at most: what a crash can make us send twice (< one batch).
MAX_UNRECORDED = 2 * GROUP_SIZE
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
MAX_ATTEMPTS = 12  # ~ a day of retries with the cap above

O = OutboxMessage.__table__  # noqa: E741 - Core table: bulk statements without ORM objects
S = Subscriber.__table__


def _cfg(name: str, default: float) -> float:
    return float(current_app.config.get(f"OUTBOX_{name}", default))


def backoff_seconds(attempts: int, *, base: float | None = None, cap: float | None = None) -> float:
    """Delay before attempt ``attempts + 1``: base·2^(attempts-1), capped, with ±50 % jitter."""
    base = _cfg("RETRY_BASE_SECONDS", BACKOFF_BASE_SECONDS) if base is None else base
    cap = _cfg("RETRY_CAP_SECONDS", BACKOFF_CAP_SECONDS) if cap is None else cap
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.5, 1.5)


# --- claiming ------------------------------------------------------------------------------------------


def claim_batch(worker_id: str, limit: int, *, now: dt.datetime | None = None,
                lease_seconds: float | None = None) -> list[int]:
    """Reserve up to `limit` due rows for this worker and commit; returns their ids."""
    now = now or utcnow()
    settings = current_app.extensions["statuspage.settings"]
    lease = now + dt.timedelta(seconds=lease_seconds or settings.outbox_lease_seconds)
    expired = and_(O.c.status == "sending", O.c.claimed_until < now)
    due = and_(O.c.status == "pending", O.c.next_attempt_at <= now)
    session = db.session
    try:
        if is_postgres(session):
            ids = list(session.scalars(select(O.c.id).where(expired).limit(limit)
                                       .with_for_update(skip_locked=True)))
            if len(ids) < limit:
                ids += list(session.scalars(select(O.c.id).where(due).order_by(O.c.next_attempt_at)
                                            .limit(limit - len(ids)).with_for_update(skip_locked=True)))
            if ids:
                session.execute(update(O).where(O.c.id.in_(ids))
                                .values(status="sending", claimed_by=worker_id, claimed_until=lease))
        else:
            candidates = list(session.scalars(select(O.c.id).where(expired).limit(limit)))
            if len(candidates) < limit:
                candidates += list(session.scalars(select(O.c.id).where(due).order_by(O.c.next_attempt_at)
                                                   .limit(limit - len(candidates))))
            ids = []
            if candidates:
                # Compare-and-set: only rows still due change hands; the lease instant marks ours.
                won = session.execute(update(O).where(O.c.id.in_(candidates), expired | due)
                                      .values(status="sending", claimed_by=worker_id, claimed_until=lease))
                if won.rowcount:
                    ids = list(session.scalars(select(O.c.id).where(
                        O.c.id.in_(candidates), O.c.claimed_by == worker_id, O.c.claimed_until == lease,
                        O.c.status == "sending")))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return ids


# --- preparing ------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """One claimed row turned into plain data: nothing below touches the database while sending."""

    id: int
    channel: str
    recipient: str
    attempts: int
    subscriber_id: int | None
    action: str  # send | cancel | fail
    message: bytes = b""
    message_id: str | None = None
    secret: str | None = None
    reason: str = ""


Renderer = Callable[[dict[str, Any], "DeliveryContext"], Prepared]
# Other areas (accounts: contact and team mail) add renderers for their own kinds here.
RENDERERS: dict[str, Renderer] = {}


def _register_builtin_renderers() -> None:
    from .account_notify import KINDS as ACCOUNT_KINDS
    from .alerts import render_oncall_alert

    RENDERERS.setdefault("oncall_alert", render_oncall_alert)
    for kind in ACCOUNT_KINDS:
        RENDERERS.setdefault(kind, _render_account_row)


def _render_account_row(row: dict[str, Any], ctx: DeliveryContext) -> Prepared:
    """Customer-contact and account-team mail: rendered from the row's payload, sent like the rest."""
    from types import SimpleNamespace

    from ..mail.message import build_template
    from .account_notify import render_account_message
    from .site import get_page

    p = Prepared(id=row["id"], channel=row["channel"], recipient=row["recipient"], attempts=row["attempts"],
                 subscriber_id=None, action="send")
    page = get_page()
    try:
        subject, text, html, headers = render_account_message(SimpleNamespace(**row), page, ctx.base_url)
        template = build_template(sender=ctx.settings.mail_from, sender_name=page.name, subject=subject,
                                  text=text, html=html, message_id=headers["Message-ID"],
                                  in_reply_to=headers.get("In-Reply-To"), list_unsubscribe_post=False)
        p.message = template.personalise(to=row["recipient"])
        p.message_id = template.message_id
    except ValueError as exc:
        p.action, p.reason = "fail", str(exc)
    return p


@dataclass
class DeliveryContext:
    base_url: str
    settings: Any
    notifications: dict[tuple, Notification | ContentGone] = field(default_factory=dict)

    def notification(self, kind: str, incident_id: int | None, update_id: int | None) -> Notification:
        key = (kind, incident_id, update_id)
        cached = self.notifications.get(key)
        if cached is None:
            try:
                cached = load_notification(kind, incident_id, update_id, self.base_url)
            except ContentGone as exc:
                cached = exc
            self.notifications[key] = cached
        if isinstance(cached, ContentGone):
            raise cached
        return cached


def _subscriber_columns() -> tuple:
    """What rendering needs of a row's subscriber; states as booleans the database computes."""
    return (S.c.token_version, S.c.webhook_secret, S.c.webhook_format,
            S.c.confirmed_at.is_not(None).label("confirmed"),
            S.c.unsubscribed_at.is_not(None).label("unsubscribed"),
            S.c.quarantined_at.is_not(None).label("quarantined"))


def _load_rows(worker_id: str, ids: list[int]) -> list[dict[str, Any]]:
    stmt = (select(O.c.id, O.c.channel, O.c.kind, O.c.audience, O.c.recipient, O.c.subscriber_id,
                   O.c.incident_id, O.c.update_id, O.c.attempts, O.c.payload, *_subscriber_columns())
            .select_from(O.outerjoin(S, S.c.id == O.c.subscriber_id))
            .where(O.c.id.in_(ids), O.c.claimed_by == worker_id, O.c.status == "sending")
            .order_by(O.c.id))
    return [dict(r._mapping) for r in db.session.execute(stmt)]


def claim_rows(worker_id: str, limit: int) -> list[dict[str, Any]]:
    """Claim up to `limit` due rows and load what rendering needs (row + subscriber); commits.

    PostgreSQL does it in one statement (the claim's ``UPDATE … RETURNING`` joined with the subscriber),
    SQLite with ``claim_batch`` and a read.
    """
    if not is_postgres(db.session):
        ids = claim_batch(worker_id, limit)
        rows = _load_rows(worker_id, ids) if ids else []
        db.session.commit()
        return rows
    now = utcnow()
    settings = current_app.extensions["statuspage.settings"]
    lease = now + dt.timedelta(seconds=settings.outbox_lease_seconds)
    # Expired leases first (a dead worker's rows), then due rows oldest first; both skip rows another
    # worker holds. CTEs are read on demand, so `due` is only scanned for what `expired` did not fill.
    expired = (select(O.c.id).where(O.c.status == "sending", O.c.claimed_until < now).limit(limit)
               .with_for_update(skip_locked=True).cte("expired"))
    due = (select(O.c.id).where(O.c.status == "pending", O.c.next_attempt_at <= now)
           .order_by(O.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True).cte("due"))
    picked = union_all(select(expired.c.id), select(due.c.id)).limit(limit).cte("picked")
    claimed = (update(O).where(O.c.id == picked.c.id)
               .values(status="sending", claimed_by=worker_id, claimed_until=lease)
               .returning(O.c.id, O.c.channel, O.c.kind, O.c.audience, O.c.recipient, O.c.subscriber_id,
                          O.c.incident_id, O.c.update_id, O.c.attempts, O.c.payload)
               .cte("claimed"))
    stmt = (select(claimed, *_subscriber_columns())
            .select_from(claimed.outerjoin(S, S.c.id == claimed.c.subscriber_id))
            .order_by(claimed.c.id))
    try:
        rows = [dict(r._mapping) for r in db.session.execute(stmt)]
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return rows


def _ids(column, ids):
    """`column IN ids`; on PostgreSQL `= ANY(:array)`: one bind parameter, so the statement is compiled
    and prepared once instead of rendering hundreds of parameters each time."""
    ids = list(ids)
    if is_postgres(db.session):
        return column == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def _prepare(row: dict[str, Any], ctx: DeliveryContext) -> Prepared:
    base = Prepared(id=row["id"], channel=row["channel"], recipient=row["recipient"],
                    attempts=row["attempts"], subscriber_id=row["subscriber_id"], action="send")
    kind = row["kind"]
    if row["subscriber_id"] is not None and kind != "subscribe_confirm":
        if row["token_version"] is None:
            return _cancel(base, "subscriber deleted")
        if row["unsubscribed"]:
            return _cancel(base, "subscriber unsubscribed")
        if row["quarantined"]:
            return _cancel(base, "subscriber quarantined")
        if not row["confirmed"]:
            return _cancel(base, "subscriber not confirmed")
    if "oncall_alert" not in RENDERERS:
        _register_builtin_renderers()
    if kind in RENDERERS:
        return RENDERERS[kind](row, ctx)
    if kind in ("subscribe_confirm", "subscribe_manage"):
        return _prepare_subscription_mail(row, base, ctx)
    if kind in EVENTS:
        try:
            notification = ctx.notification(kind, row["incident_id"], row["update_id"])
        except ContentGone as exc:
            return _cancel(base, str(exc))
        return _prepare_event(row, base, notification, ctx)
    base.action, base.reason = "fail", f"no renderer for outbox kind {kind!r}"
    return base


def _cancel(p: Prepared, reason: str) -> Prepared:
    p.action, p.reason = "cancel", reason
    return p


def _links(row: dict[str, Any], ctx: DeliveryContext) -> tuple[str, str, str]:
    sid, version = row["subscriber_id"], row["token_version"]
    if sid is None:
        return "", "", ""
    unsub_token = subscriptions.make_token(sid, version, "unsubscribe")
    unsubscribe = subscriptions.link("unsubscribe", unsub_token, ctx.base_url)
    manage = subscriptions.link("manage", subscriptions.make_token(sid, version, "manage"), ctx.base_url)
    return unsubscribe, manage, unsubscribe_mailto(ctx.settings, unsub_token)


def _prepare_event(row: dict[str, Any], p: Prepared, n: Notification, ctx: DeliveryContext) -> Prepared:
    unsubscribe, manage, mailto = _links(row, ctx)
    if row["channel"] == "webhook":
        p.message = n.webhook(row["webhook_format"] or "statuspage", unsubscribe)
        p.secret = row["webhook_secret"]
        return p
    template = n.email()
    try:
        p.message = template.personalise(to=row["recipient"], unsubscribe_url=unsubscribe,
                                         unsubscribe_mailto=mailto, manage_url=manage)
    except ValueError as exc:
        p.action, p.reason = "fail", str(exc)
        return p
    p.message_id = template.message_id
    return p


def _prepare_subscription_mail(row: dict[str, Any], p: Prepared, ctx: DeliveryContext) -> Prepared:
    if row["token_version"] is None:
        return _cancel(p, "subscriber deleted")
    sid, version = row["subscriber_id"], row["token_version"]
    unsubscribe, manage, _mailto = _links(row, ctx)
    confirm = subscriptions.link("confirm", subscriptions.make_token(sid, version, "confirm"), ctx.base_url)
    try:
        p.message = render_subscription_email(row["kind"], row["recipient"], confirm_url=confirm,
                                              manage_url=manage, unsubscribe_url=unsubscribe,
                                              base_url=ctx.base_url)
    except ValueError as exc:
        p.action, p.reason = "fail", str(exc)
    return p


# --- recording outcomes ------------------------------------------------------------------------------------


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


class _Recorder:
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
                    session.execute(update(O).where(_ids(O.c.id, [r["b_id"] for r in rows])).values(
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
                session.execute(update(S).where(_ids(S.c.id, self.successes), S.c.failure_count > 0)
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
                session.execute(update(O).where(_ids(O.c.id, self.outstanding),
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
        from ..ops.metrics import DELIVERIES

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


# --- delivering ------------------------------------------------------------------------------------------


class _Pacer:
    """At most `rate` messages a second (0 = unlimited), sleeping on the stop event."""

    def __init__(self, rate: float, stop_event: threading.Event | None):
        self.rate = rate
        self.stop_event = stop_event
        self.start = time.monotonic()
        self.count = 0

    def wait(self) -> None:
        if self.rate <= 0:
            return
        target = self.start + self.count / self.rate
        delay = target - time.monotonic()
        if delay > 0:
            if self.stop_event is not None:
                self.stop_event.wait(delay)
            else:
                time.sleep(delay)
        self.count += 1


_SKIPPED = "skipped"


class _MailSender(threading.Thread):
    """Sends prepared mail over one reused connection while the caller claims, prepares and records.

    Waiting for the SMTP server's replies releases the GIL, so preparing the next messages and
    committing outcomes overlap with the network instead of adding to it. Only this thread touches the
    transport; outcomes go back through a queue and are recorded by the caller (the one DB session).

    A message is sent only with a permit, and a permit comes back only when the outcome is committed:
    at no instant are more than ``MAX_UNRECORDED`` messages sent but not recorded, which bounds what a
    crash can make us send twice however far the sender runs ahead of the database.
    """

    def __init__(self, transport, sender: str, pacer: _Pacer, stop_event: threading.Event | None):
        super().__init__(name="outbox-mail", daemon=True)
        self.transport = transport
        self.sender = sender
        self.pacer = pacer
        self.stop_event = stop_event
        self.inbox: queue.Queue[Prepared | None] = queue.Queue(maxsize=GROUP_SIZE)
        self.outcomes: queue.SimpleQueue[tuple[Prepared, DeliveryError | str | None, dt.datetime]] = \
            queue.SimpleQueue()
        self.permits = threading.Semaphore(MAX_UNRECORDED)
        self.abort = threading.Event()  # the caller failed: try nothing more, hand everything back
        self.mail_down: DeliveryError | None = None

    def run(self) -> None:
        try:
            while True:
                p = self.inbox.get()
                if p is None:
                    return
                if (self.stop_event is not None and self.stop_event.is_set()) or not self._permit():
                    self.outcomes.put((p, _SKIPPED, utcnow()))
                    continue
                try:
                    outcome = self._send(p)
                except Exception as exc:  # noqa: BLE001 - a bug must not kill the thread the caller waits on
                    log.exception("sending outbox row %s failed unexpectedly", p.id)
                    outcome = DeliveryError(f"internal error: {type(exc).__name__}: {exc}", permanent=False)
                self.outcomes.put((p, outcome, utcnow()))
        finally:
            try:
                self.transport.close()
            except Exception:  # noqa: BLE001 - closing must not lose outcomes
                log.exception("closing the mail transport failed")

    def _permit(self) -> bool:
        while not self.permits.acquire(timeout=0.1):
            if self.abort.is_set():
                return False
        return True

    def _send(self, p: Prepared) -> DeliveryError | None:
        if self.mail_down is not None:
            return self.mail_down
        try:
            self.transport.open()
        except DeliveryError as exc:
            log.warning("mail transport unavailable: %s", exc)
            self.mail_down = exc
            return exc
        self.pacer.wait()
        try:
            self.transport.send(self.sender, p.recipient, p.message)
        except DeliveryError as exc:
            return exc
        return None

    def submit(self, p: Prepared | None, on_wait: Callable[[], None]) -> None:
        """Queue `p`. When the queue is full, let it run down to a quarter before filling it again: the
        caller then wakes a few times per hundred messages instead of once per message, and each of its
        wake-ups is a moment the sending thread may wait for the GIL."""
        if self.inbox.full():
            while self.inbox.qsize() > self.inbox.maxsize // 4 and self.is_alive():
                on_wait()
                time.sleep(0.005)
        while True:
            try:
                self.inbox.put(p, timeout=0.05)
                return
            except queue.Full:
                if not self.is_alive():
                    raise RuntimeError("the outbox mail thread is gone") from None
                on_wait()

    def finish(self, on_wait: Callable[[], None]) -> None:
        """Let the thread send what is queued (recording as it goes, so permits come back) and end."""
        if self.is_alive():
            self.submit(None, on_wait)  # the end marker
        while self.is_alive():
            on_wait()
            self.join(0.05)


def _drain(sender: _MailSender, recorder: _Recorder, skipped: list[int], *, force: bool = False) -> None:
    """Move the sender's outcomes into the recorder; commit a group when one is due (or `force`)."""
    while True:
        try:
            p, error, at = sender.outcomes.get_nowait()
        except queue.Empty:
            break
        if error == _SKIPPED:
            skipped.append(p.id)
            continue
        recorder.permits_held += 1
        if error is None:
            recorder.sent_ok(p, at)
        else:
            assert isinstance(error, DeliveryError)
            recorder.failed(p, error, at, count_bounce=error.permanent)
    if recorder.due() or (force and recorder.pending()):
        recorder.flush()


def _send_webhook(p: Prepared, transport: WebhookTransport, recorder: _Recorder) -> None:
    try:
        transport.send(p.recipient, p.message, p.secret)
    except DeliveryError as exc:
        # Every failed attempt counts for webhooks: an endpoint down for days must end quarantined.
        recorder.failed(p, exc, utcnow(), count_bounce=True)
        return
    recorder.sent_ok(p, utcnow())


def _release(worker_id: str, ids: list[int]) -> None:
    """Give back rows this worker claimed but did not try (shutting down, or its transport is down)."""
    if not ids:
        return
    try:
        db.session.execute(update(O).where(_ids(O.c.id, ids), O.c.claimed_by == worker_id, O.c.status == "sending")
                           .values(status="pending", claimed_by=None, claimed_until=None))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def deliver_outbox(worker_id: str, stop_event: threading.Event | None = None, *,
                   batch_size: int | None = None, max_batches: int | None = None) -> DeliveryStats:
    """The worker job: claim and deliver batches while there is due work and no stop is requested.

    Every outcome is committed (in groups of ``GROUP_SIZE``) before this returns; rows claimed but not
    tried (stop requested) are released at once, and a crash leaves them to the lease. Rows are rendered
    one at a time just before they are queued, so the thread sending mail never waits for a whole batch
    to be rendered and outcomes are recorded while the batch goes out.
    """
    from .subscriptions import public_base_url

    settings = current_app.extensions["statuspage.settings"]
    batch_size = batch_size or min(settings.worker_batch_size, 500)
    stats = DeliveryStats()
    ctx = DeliveryContext(base_url=public_base_url(), settings=settings)
    db.session.commit()
    recorder = _Recorder(worker_id, stats)
    sender = _MailSender(mail_transport_for(settings), settings.mail_from,
                         _Pacer(settings.mail_send_rate, stop_event), stop_event)
    recorder.release_permits = sender.permits.release
    webhooks = WebhookTransport()
    skipped: list[int] = []

    def drain() -> None:
        _drain(sender, recorder, skipped)

    def stopping() -> bool:
        return stop_event is not None and stop_event.is_set()

    sender.start()
    batches = 0
    try:
        while not stopping():
            if (max_batches is not None and batches >= max_batches) or sender.mail_down is not None:
                break
            rows = claim_rows(worker_id, batch_size)
            if not rows:
                break
            batches += 1
            # A lease of ours that ran out (a very slow batch) can come back in a claim: it is already
            # on its way through this run, so it must not be queued twice.
            rows = [row for row in rows if row["id"] not in recorder.outstanding]
            stats.claimed += len(rows)
            recorder.outstanding.update(row["id"] for row in rows)
            for row in rows:
                if stopping():
                    break
                p = _prepare(row, ctx)
                if p.action == "cancel":
                    recorder.cancelled(p)
                elif p.action == "fail":
                    recorder.failed(p, p.reason, utcnow(), count_bounce=False)
                elif p.channel == "webhook":
                    _send_webhook(p, webhooks, recorder)
                else:
                    sender.submit(p, drain)
                drain()
            db.session.commit()  # end any read the renderers began: no transaction spans the sending
    except BaseException:
        sender.abort.set()  # the database (or a renderer) failed: send nothing more; leases cover the rest
        raise
    finally:
        try:
            sender.finish(lambda: _drain(sender, recorder, skipped, force=True))
        finally:
            webhooks.close()
        _drain(sender, recorder, skipped, force=True)
        recorder.flush()
        _release(worker_id, sorted(set(skipped) | recorder.outstanding))
    if stats.claimed:
        log.info("outbox: %s", stats)
    return stats


# --- console actions -------------------------------------------------------------------------------------


class OutboxError(ValueError):
    pass


def retry_row(row_id: int, *, actor: Actor) -> OutboxMessage:
    """Put a failed or cancelled row back in the queue now (attempts start over). Commits."""
    row = db.session.get(OutboxMessage, row_id)
    if row is None:
        raise OutboxError("no such outbox row")
    if row.status not in ("failed", "cancelled"):
        raise OutboxError(f"only failed or cancelled rows can be retried; this one is {row.status}")
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = utcnow()
    row.claimed_by = row.claimed_until = None
    record(actor, "outbox.retry", "outbox", row.id, before=before, after={"status": "pending"})
    db.session.commit()
    return row


def outbox_counts() -> dict[str, int]:
    """Rows per status, for the console header and /api/v1/outbox."""
    from sqlalchemy import func

    return {status: n for status, n in db.session.execute(
        select(O.c.status, func.count()).group_by(O.c.status))}
