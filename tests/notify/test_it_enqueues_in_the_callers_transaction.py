"""notify_event writes one outbox row per recipient inside the caller's transaction, idempotently."""

import secrets

import pytest

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Incident, IncidentUpdate, OutboxMessage
from statuspage.services.notifications.events import notify_event
from tests.support import factories as f


def test_rows_commit_and_roll_back_with_the_event(app):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.many_subscribers(5)
    inc, upd = f.announced_incident("Outage", [api], event=None)
    assert notify_event("incident_created", inc, upd) == 5
    db.session.rollback()  # the event's transaction fails: no notification survives it
    assert db.session.query(OutboxMessage).count() == 0
    inc = db.session.get(Incident, inc.id)
    upd = db.session.get(IncidentUpdate, upd.id)
    assert notify_event("incident_created", inc, upd) == 5
    db.session.commit()
    rows = db.session.query(OutboxMessage).order_by(OutboxMessage.id).all()
    assert [r.dedupe_key for r in rows][0] == f"incident_created:{inc.id}:{upd.id}:sub:{rows[0].subscriber_id}"
    assert {r.status for r in rows} == {"pending"} and all(r.payload == {} for r in rows)
    # Calling again for the same event adds nothing.
    assert notify_event("incident_created", inc, upd) == 0
    db.session.commit()
    assert db.session.query(OutboxMessage).count() == 5


def test_drafts_internal_notes_and_silenced_updates_send_nothing(app):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.many_subscribers(3)
    inc, _ = f.announced_incident("Outage", [api])
    assert db.session.query(OutboxMessage).count() == 3
    f.announced_update(inc, "identified", "internal only", internal=True)
    f.announced_update(inc, "identified", "quiet fix", notify=False)
    assert db.session.query(OutboxMessage).count() == 3
    draft = Incident(public_id=secrets.token_hex(6), name="Draft", status="investigating", published_at=None)
    db.session.add(draft)
    db.session.flush()
    assert notify_event("incident_created", draft) == 0
    with pytest.raises(ValueError):
        notify_event("incident_exploded", inc)
    unflushed = Incident(public_id="x", name="x", status="investigating", published_at=utcnow())
    with pytest.raises(ValueError):
        notify_event("incident_created", unflushed)


def test_postmortem_and_maintenance_events_fan_out_without_an_update(app, smtp_server):
    from statuspage.services.notifications.outbox.deliver import deliver_outbox

    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("Public API", "api")
    f.subscriber("ops@customer.test", [api])
    inc, _ = f.announced_incident("Planned database upgrade", [api], kind="maintenance", status="scheduled",
                        event="maintenance_scheduled")
    assert notify_event("maintenance_reminder", inc) == 1
    assert notify_event("postmortem_published", inc) == 1
    db.session.commit()
    assert deliver_outbox("w").sent == 3
    subjects = {m.message["Subject"] for m in smtp_server.wait_for(3)}
    assert subjects == {"[Acme Cloud] Scheduled maintenance: Planned database upgrade",
                        "[Acme Cloud] Maintenance starts soon: Planned database upgrade",
                        "[Acme Cloud] Postmortem: Planned database upgrade"}
    texts = [m.message.get_body(("plain",)).get_content() for m in smtp_server.messages]
    assert any("Maintenance starts soon" in t for t in texts)
    assert any("postmortem" in t for t in texts)
