"""Root message + 2 updates: In-Reply-To/References the root and one Thread-Topic while the subject says
the status, list headers on each."""

from urllib.parse import urlsplit

from tests.support import factories as f


def test_it_threads_every_update_of_an_incident_under_its_root_message(app, smtp_server, deliver):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("Public API", "api")
    sub = f.subscriber("ops@customer.test")
    inc, _ = f.announced_incident("Elevated API errors", [api])
    deliver()
    f.announced_update(inc, "identified", "A bad deploy; rolling back.")
    deliver()
    f.announced_update(inc, "resolved", "Error rates are back to normal.", event="incident_resolved")
    deliver()

    got = smtp_server.wait_for(3)
    assert len(got) == 3
    root = f"<incident-{inc.public_id}@status.test>"
    first, second, third = (m.message for m in got)
    assert first["Message-ID"] == root
    assert first["In-Reply-To"] is None and first["References"] is None
    # The subject says where the incident stands; the thread is kept by the headers below.
    assert [m["Subject"] for m in (first, second, third)] == [
        "[Acme Cloud] Investigating: Elevated API errors", "[Acme Cloud] Identified: Elevated API errors",
        "[Acme Cloud] Resolved: Elevated API errors"]
    assert {m["Thread-Topic"] for m in (first, second, third)} == {"Elevated API errors"}
    for reply in (second, third):
        assert reply["In-Reply-To"] == root and reply["References"] == root
        assert reply["Message-ID"] not in (root, None)
    assert len({m["Message-ID"] for m in (first, second, third)}) == 3
    assert "Error rates are back to normal." in third.get_body(("plain",)).get_content()

    for m in (first, second, third):
        assert m["To"] == "ops@customer.test"
        assert m["From"] == "Acme Cloud <status@acme.test>"
        assert m["List-Id"] == '"Acme Cloud status" <subscribers.status.test>'
        assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        links = [part.strip().strip("<>") for part in str(m["List-Unsubscribe"]).split(",")]
        assert links[0].startswith("http://status.test/unsubscribe/")
        assert links[1].startswith("mailto:status@acme.test?subject=unsubscribe")
        assert m.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in m.iter_parts()] == ["text/plain", "text/html"]
        # Every mail carries the preferences link of its own subscriber.
        text = m.get_body(("plain",)).get_content()
        assert "/subscribe/manage/" in text and urlsplit(links[0]).path in text
    assert sub.id is not None


def test_a_resent_message_keeps_its_message_id(app, smtp_server, deliver):
    from statuspage.extensions import db
    from statuspage.models import OutboxMessage

    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("API", "api")
    f.subscriber("ops@customer.test")
    inc, upd = f.announced_incident("Outage", [api])
    deliver()
    f.announced_update(inc, "monitoring", "Fix deployed.")
    deliver()
    row = db.session.query(OutboxMessage).filter_by(update_id=upd.id).one()
    first_id = smtp_server.messages[0].message["Message-ID"]
    assert row.message_id == first_id
    # Simulate a crash re-send: the same row delivered again carries the same Message-ID.
    row.status = "pending"
    db.session.commit()
    deliver()
    assert smtp_server.wait_for(3)[2].message["Message-ID"] == first_id
