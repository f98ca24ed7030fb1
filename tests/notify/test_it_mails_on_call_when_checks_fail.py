"""The on-call address gets a plain email with the resolved conditions when checks take a component down."""

import datetime as dt

from statuspage.db import utcnow
from tests.monitor.helpers import apply_yaml, one_component, tick


def test_on_call_gets_the_failing_conditions(app, target, smtp_server, deliver):
    url = target.set("/h", status=503, body="down")
    apply_yaml(one_component(url, component_extra="auto_incident: 'off'"))
    t = utcnow()
    for _ in range(3):
        t += dt.timedelta(seconds=10)
        tick(t)
    stats = deliver()
    assert stats.sent == 1
    msg = smtp_server.wait_for(1)[0]
    assert msg.rcpt_tos == ["oncall@acme.example"]
    assert msg.message["Subject"] == "[Acme] Public API: major outage"
    body = msg.message.get_body(("plain",)).get_content()
    assert "✗ [STATUS] (503) < 400" in body
    assert msg.message["List-Unsubscribe"] is None  # internal mail, not list mail
