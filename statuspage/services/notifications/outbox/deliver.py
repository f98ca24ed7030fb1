"""The delivery job: claim, prepare, send and record batches until nothing is due or a stop is asked.
"""

from __future__ import annotations

import logging
import queue
import threading

from flask import current_app

from ....db import utcnow
from ....extensions import db
from ....outbound import OutboundPolicy
from ....transports import DeliveryError, mail_transport_for
from ....transports.webhook import WebhookTransport
from ...page import public_base_url
from .claim import claim_rows, release_rows
from .prepare import DeliveryContext, prepare_row
from .record import DeliveryStats, Recorder
from .send import SKIPPED, MailSender, Pacer, send_webhook

log = logging.getLogger("statuspage.outbox")


def _drain(sender: MailSender, recorder: Recorder, skipped: list[int], *, force: bool = False) -> None:
    """Move the sender's outcomes into the recorder; commit a group when one is due (or `force`)."""
    while True:
        try:
            p, error, at = sender.outcomes.get_nowait()
        except queue.Empty:
            break
        if error == SKIPPED:
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


def deliver_outbox(worker_id: str, stop_event: threading.Event | None = None, *,
                   batch_size: int | None = None, max_batches: int | None = None) -> DeliveryStats:
    """The worker job: claim and deliver batches while there is due work and no stop is requested.

    Every outcome is committed (in groups of ``GROUP_SIZE``) before this returns; rows claimed but not
    tried (stop requested) are released at once, and a crash leaves them to the lease. Rows are rendered
    one at a time just before they are queued, so the thread sending mail never waits for a whole batch
    to be rendered and outcomes are recorded while the batch goes out.
    """
    settings = current_app.extensions["statuspage.settings"]
    batch_size = batch_size or min(settings.worker_batch_size, 500)
    stats = DeliveryStats()
    ctx = DeliveryContext(base_url=public_base_url(), settings=settings)
    db.session.commit()
    recorder = Recorder(worker_id, stats)
    sender = MailSender(mail_transport_for(settings), settings.mail_from,
                         Pacer(settings.mail_send_rate, stop_event), stop_event)
    recorder.release_permits = sender.permits.release
    webhooks = WebhookTransport(OutboundPolicy.from_settings(settings))
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
                p = prepare_row(row, ctx)
                if p.action == "cancel":
                    recorder.cancelled(p)
                elif p.action == "fail":
                    recorder.failed(p, p.reason, utcnow(), count_bounce=False)
                elif p.channel == "webhook":
                    send_webhook(p, webhooks, recorder)
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
        release_rows(worker_id, sorted(set(skipped) | recorder.outstanding))
    if stats.claimed:
        log.info("outbox: %s", stats)
    return stats
