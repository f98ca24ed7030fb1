"""One accidental click on "Post update" must not publish and email an empty message to every subscriber."""

from sqlalchemy import func, select

from statuspage.extensions import db
from statuspage.models import IncidentUpdate, OutboxMessage
from tests.support import factories as f
from tests.support.console import csrf_token, login
from tests.support.forms import form_of_button


def test_posting_the_composer_untouched_publishes_nothing_and_keeps_the_form(app, client):
    api = f.component("Public API", "api")
    f.subscriber("ops@customer.test")
    inc, _ = f.announced_incident("Elevated API errors", [api])
    outbox_before = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    login(client, "responder")
    page = client.get(f"/admin/incidents/{inc.public_id}").get_data(as_text=True)
    action, fields, _button = form_of_button(page, "Post update")
    assert fields["body"] == "" and fields["status"] == "identified"  # the next status is preselected

    resp = client.post(action, data=fields)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Message is required" in html
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(IncidentUpdate)
                             .where(IncidentUpdate.incident_id == inc.id)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_before
    assert inc.status == "investigating"


def test_a_whitespace_message_is_empty_too_and_the_status_chosen_stays_chosen(app, client):
    api = f.component("Public API", "api")
    inc, _ = f.announced_incident("Elevated API errors", [api])
    login(client, "responder")
    resp = client.post(f"/admin/incidents/{inc.public_id}/updates", data={
        "csrf_token": csrf_token(client, f"/admin/incidents/{inc.public_id}"), "status": "monitoring",
        "body": "  \n ", "notify": "1", "action": "post"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Message is required" in html
    assert 'value="monitoring" checked' in html


def test_the_composer_asks_the_browser_for_a_message_first(app, client):
    api = f.component("Public API", "api")
    inc, _ = f.announced_incident("Elevated API errors", [api])
    login(client, "responder")
    page = client.get(f"/admin/incidents/{inc.public_id}").get_data(as_text=True)
    _action, _fields, button = form_of_button(page, "Post update")
    textarea = next(button.iterancestors("form")).get_element_by_id("body")
    assert textarea.get("required") is not None
    _action, _fields, preview = form_of_button(page, "Preview")
    assert preview.get("formnovalidate") is not None  # previewing an empty draft is fine
