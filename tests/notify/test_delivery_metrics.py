"""Prometheus sees mail flow: deliveries by channel and result, and how long due mail has waited —
the number to alert on when SMTP stops taking mail."""

import datetime as dt
import re

import time_machine
from aiosmtpd.controller import Controller

from tests.support import factories as f
from tests.support.smtp import _Handler


def _metric(client, name: str, labels: str = "") -> float:
    body = client.get("/metrics").get_data(as_text=True)
    m = re.search(rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$", body, re.M)
    return float(m.group(1)) if m else 0.0


def test_deliveries_and_the_mail_backlog_are_exported(app, client, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.many_subscribers(5)
    sent_before = _metric(client, "statuspage_deliveries_total", '{channel="email",result="sent"}')
    retry_before = _metric(client, "statuspage_deliveries_total", '{channel="email",result="retry"}')

    smtp_server.stop()  # mail stops flowing
    f.announced_incident("Outage", [api])
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3)):
        assert _metric(client, "statuspage_outbox_backlog_seconds") >= 170
    assert deliver().retried == 5
    assert _metric(client, "statuspage_deliveries_total", '{channel="email",result="retry"}') == retry_before + 5

    # SMTP is back (same port); once the retries are due, everything goes.
    smtp_server.controller = Controller(_Handler(smtp_server), hostname="127.0.0.1", port=smtp_server.port)
    smtp_server.controller.start()
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)):
        assert deliver().sent == 5
    assert _metric(client, "statuspage_deliveries_total", '{channel="email",result="sent"}') == sent_before + 5
    assert _metric(client, "statuspage_outbox_backlog_seconds") == 0.0
