"""Rendering account outbox rows: threading headers, what each audience sees, escaping."""

from statuspage.models import OutboxMessage
from statuspage.services.notifications.account_mail import (
    enqueue_account_notifications,
    render_account_message,
)
from statuspage.services.page import get_page
from tests.accounts.scenario import T, build
from tests.support import factories as f

NOW = T("2026-05-01 00:00")


def _row(kind, recipient, incident):
    return OutboxMessage.query.filter_by(kind=kind, recipient=recipient, incident_id=incident.id).one()


def test_contact_mail_threads_under_the_incident_root_with_the_status_in_the_subject(app):
    s = build()
    first = f.update(s.c, "We are **investigating** <script>x</script>.", status="investigating",
                     at=T("2026-03-20 12:05"))
    enqueue_account_notifications("incident_created", s.c, first, now=NOW)
    later = f.update(s.c, "Fixed.", status="resolved", at=T("2026-03-20 13:15"))
    enqueue_account_notifications("incident_resolved", s.c, later, now=NOW)
    page = get_page()
    root = f"<incident-{s.c.public_id}@status.test>"
    rows = OutboxMessage.query.filter_by(kind="account_contact", recipient="ops@globex.test").order_by(
        OutboxMessage.id).all()
    subject1, text1, html1, h1 = render_account_message(rows[0], page, "http://status.test")
    subject2, text2, _html2, h2 = render_account_message(rows[1], page, "http://status.test")
    assert subject1 == "[Acme Cloud] Investigating: Web and API errors"
    assert subject2 == "[Acme Cloud] Resolved: Web and API errors"
    assert h1["Message-ID"] == root and "In-Reply-To" not in h1
    assert h2["In-Reply-To"] == root and h2["References"] == root and h2["Message-ID"] != root
    assert "Public API" in text1 and "Web app" not in text1  # Globex uses api and db only
    assert f"http://status.test/incidents/{s.c.public_id}" in text1
    assert "<script>" not in html1 and "<strong>investigating</strong>" in html1
    assert "contact for Globex" in text1
    assert "Resolved" in text2


def test_team_digest_lists_arr_renewal_and_a_suggested_message_per_account(app):
    s = build()
    upd = f.update(s.c, "Investigating.", status="investigating", at=T("2026-03-20 12:05"))
    enqueue_account_notifications("incident_created", s.c, upd, now=NOW)
    row = _row("account_team_digest", "jane@acme.test", s.c)
    subject, text, html, headers = render_account_message(row, get_page(), "http://status.test")
    assert subject == "[Acme Cloud accounts] Investigating: Web and API errors — 2 of your accounts affected"
    assert "USD 420,000 ARR at risk" in text
    assert "Umbrella (U-3)" in text and "Globex (G-1)" in text and "Initech" not in text
    assert "renewal 2026-06-01" in text
    assert "Hi Globex team" in text and "Suggested message" in html
    assert f"/admin/incidents/{s.c.public_id}/accounts" in text
    assert headers["References"].startswith(f"<incident-{s.c.public_id}.team@")


def test_drafts_internal_notes_and_silenced_updates_send_nothing(app):
    s = build()
    note = f.update(s.c, "internal", status="investigating", internal=True, at=T("2026-03-20 12:05"))
    assert enqueue_account_notifications("incident_updated", s.c, note, now=NOW) == 0
    s.c.published_at = None
    upd = f.update(s.c, "x", status="investigating", at=T("2026-03-20 12:06"))
    assert enqueue_account_notifications("incident_updated", s.c, upd, now=NOW) == 0
    assert OutboxMessage.query.count() == 0


def test_postmortem_mail_carries_only_public_sections(app, client):
    from statuspage.services.audit import Actor
    from statuspage.services.notifications.account_mail import send_postmortem_to_accounts

    s = build()
    f.postmortem(s.c, [{"key": "summary", "title": "Summary", "body": "A bad deploy.", "public": True},
                       {"key": "internal", "title": "Internal", "body": "Pager misrouted", "public": False}])
    n = send_postmortem_to_accounts(s.c, actor=Actor.system(), now=NOW)
    # ops@globex (all), cto@globex (major), it@initech (major), ops@umbrella (all); sec@umbrella is "none".
    assert n == 4
    row = _row("account_postmortem", "cto@globex.test", s.c)
    subject, text, html, headers = render_account_message(row, get_page(), "http://status.test")
    assert "A bad deploy." in text and "Pager misrouted" not in text and "Pager misrouted" not in html
    assert subject.endswith("root-cause analysis")
    assert send_postmortem_to_accounts(s.c, actor=Actor.system(), now=NOW) == 0  # idempotent
    from statuspage.models import AccountOutreach

    assert {o.account_id for o in AccountOutreach.query if o.rca_sent_at} == {s.globex.id, s.initech.id,
                                                                               s.umbrella.id}
