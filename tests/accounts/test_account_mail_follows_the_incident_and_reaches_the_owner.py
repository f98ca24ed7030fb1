"""Account mail says where the incident stands, and a customer's reply reaches their account manager."""

import email
import email.policy

from statuspage.extensions import db
from statuspage.models import OutboxMessage
from statuspage.services.incidents.postmortems import publish_postmortem
from statuspage.services.notifications.account_mail import (
    enqueue_account_notifications,
    render_account_message,
    render_account_template,
)
from statuspage.services.page import get_page
from tests.accounts.scenario import T, build
from tests.support import factories as f

NOW = T("2026-05-01 00:00")


def _rows(kind, recipient, incident):
    return OutboxMessage.query.filter_by(kind=kind, recipient=recipient, incident_id=incident.id).order_by(
        OutboxMessage.id).all()


def test_the_team_digest_for_a_published_postmortem_points_to_it_instead_of_promising_updates(app):
    s = build()
    pm = f.postmortem(s.c, [{"key": "summary", "title": "Summary", "body": "A bad deploy.", "public": True}],
                      published=False)
    publish_postmortem(pm, actor=f.ALICE, notify_subscribers=True, now=NOW)

    (row,) = _rows("account_team_digest", "jane@acme.test", s.c)
    subject, text, html, _headers = render_account_message(row, get_page(), "http://status.test")
    assert subject.startswith("[Acme Cloud accounts] Postmortem: Web and API errors")
    for stale in ("working on it", "keep you posted", "is affecting", "at risk", "so far"):
        assert stale not in text and stale not in html, stale
    assert "root-cause analysis is now published" in text
    assert "USD 420,000 ARR affected" in text


def test_a_resolved_update_is_told_in_the_past_tense(app):
    s = build()
    upd = f.update(s.c, "Fixed.", status="resolved", at=T("2026-03-20 13:15"))
    enqueue_account_notifications("incident_resolved", s.c, upd, now=NOW)
    (row,) = _rows("account_team_digest", "jane@acme.test", s.c)
    _subject, text, _html, _headers = render_account_message(row, get_page(), "http://status.test")
    assert "Web and API errors affected" in text and "This has been resolved" in text
    assert "keep you posted" not in text


def test_contact_mail_replies_go_to_the_account_manager(app, tmp_path):
    s = build()
    upd = f.update(s.c, "Investigating.", status="investigating", at=T("2026-03-20 12:05"))
    enqueue_account_notifications("incident_created", s.c, upd, now=NOW)
    (row,) = _rows("account_contact", "ops@globex.test", s.c)
    _subject, text, html, headers = render_account_message(row, get_page(), "http://status.test")
    assert headers["Reply-To"] == "jane@acme.test"
    assert "Reply to this email to reach your account manager (jane@acme.test)" in text
    assert "jane@acme.test" in html

    # The delivered message carries the header (the sender stays the status page's address).
    template = render_account_template({c.name: getattr(row, c.name) for c in row.__table__.columns},
                                       "http://status.test")
    raw = template.personalise(to="ops@globex.test")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Reply-To"] == "jane@acme.test"
    assert msg["From"].addresses[0].addr_spec == "status@acme.test"
    assert msg["Thread-Topic"] == "Web and API errors"


def test_contacts_of_accounts_without_an_owner_are_not_told_to_reply(app):
    s = build()
    s.globex.owner_email = None
    db.session.commit()
    upd = f.update(s.c, "Investigating.", status="investigating", at=T("2026-03-20 12:05"))
    enqueue_account_notifications("incident_created", s.c, upd, now=NOW)
    (row,) = _rows("account_contact", "ops@globex.test", s.c)
    _subject, text, _html, headers = render_account_message(row, get_page(), "http://status.test")
    assert "Reply-To" not in headers
    assert "Reply to this email" not in text and "Ask your account manager" in text
