"""Sending: one thread per run writes mail over one reused SMTP session; webhooks are posted inline.

A message is sent only with a permit, and a permit comes back only when its outcome is committed
(``outbox.record``): at no instant are more than ``MAX_UNRECORDED`` messages sent but not recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable

from ....db import utcnow
from ....transports import DeliveryError
from ....transports.webhook import WebhookTransport
from .prepare import Prepared
from .record import GROUP_SIZE, MAX_UNRECORDED, Recorder

log = logging.getLogger("statuspage.outbox")


class Pacer:
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


SKIPPED = "skipped"


class MailSender(threading.Thread):
    """Sends prepared mail over one reused connection while the caller claims, prepares and records.

    Waiting for the SMTP server's replies releases the GIL, so preparing the next messages and
    committing outcomes overlap with the network instead of adding to it. Only this thread touches the
    transport; outcomes go back through a queue and are recorded by the caller (the one DB session).

    A message is sent only with a permit, and a permit comes back only when the outcome is committed:
    at no instant are more than ``MAX_UNRECORDED`` messages sent but not recorded, which bounds what a
    crash can make us send twice however far the sender runs ahead of the database.
    """

    def __init__(self, transport, sender: str, pacer: Pacer, stop_event: threading.Event | None):
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
                    self.outcomes.put((p, SKIPPED, utcnow()))
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


def send_webhook(p: Prepared, transport: WebhookTransport, recorder: Recorder) -> None:
    try:
        transport.send(p.recipient, p.message, p.secret)
    except DeliveryError as exc:
        # Every failed attempt counts for webhooks: an endpoint down for days must end quarantined.
        recorder.failed(p, exc, utcnow(), count_bounce=True)
        return
    recorder.sent_ok(p, utcnow())
