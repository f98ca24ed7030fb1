"""Every button of the postmortem editor keeps what was typed in the sections."""

from tests.support import factories as f
from tests.support.console import login
from tests.support.forms import form_of_button


def _url(inc):
    return f"/admin/incidents/{inc.public_id}/postmortem"


def _editor(client, inc):
    return client.get(_url(inc)).get_data(as_text=True)


def test_adding_an_action_item_saves_the_sections_typed_before(app, client):
    api = f.component("Public API", "api")
    inc = f.incident("Login failures", components={api: "major_outage"}, status="resolved")
    f.postmortem(inc, [{"key": "summary", "title": "Summary", "body": "", "public": True}], published=False)
    login(client, "responder")
    action, fields, _ = form_of_button(_editor(client, inc), "Add action item", _url(inc))
    assert "body-summary" in fields, "the Add action item button does not send the sections"
    fields["body-summary"] = "An expired certificate on the login service."
    fields["new-title"] = "Alert 14 days before certificates expire"
    fields["new-owner"] = "sre@acme.test"
    resp = client.post(action, data=fields, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "An expired certificate on the login service." in html
    assert 'value="Alert 14 days before certificates expire"' in html
    assert 'value="sre@acme.test"' in html


def test_saving_the_postmortem_keeps_edits_of_existing_items(app, client):
    api = f.component("Public API", "api")
    inc = f.incident("Login failures", components={api: "major_outage"}, status="resolved")
    f.postmortem(inc, [{"key": "summary", "title": "Summary", "body": "Draft.", "public": True}], published=False)
    login(client, "responder")
    action, fields, _ = form_of_button(_editor(client, inc), "Add action item", _url(inc))
    fields["new-title"] = "Rotate certificates automatically"
    client.post(action, data=fields)
    action, fields, _ = form_of_button(_editor(client, inc), "Save", _url(inc))
    item_field = next(k for k in fields if k.endswith("-status") and k.startswith("item-"))
    fields[item_field] = "done"
    fields["body-summary"] = "Final summary."
    client.post(action, data=fields)
    html = _editor(client, inc)
    assert "Final summary." in html and '<option value="done" selected' in html


def test_an_invalid_item_saves_nothing_and_says_which_field(app, client):
    api = f.component("Public API", "api")
    inc = f.incident("Login failures", components={api: "major_outage"}, status="resolved")
    f.postmortem(inc, [{"key": "summary", "title": "Summary", "body": "Before.", "public": True}], published=False)
    login(client, "responder")
    action, fields, _ = form_of_button(_editor(client, inc), "Add action item", _url(inc))
    fields.update({"body-summary": "After.", "new-title": "Fix it", "new-link": "ftp://example.test"})
    html = client.post(action, data=fields, follow_redirects=True).get_data(as_text=True)
    assert "Link must be an http(s) URL" in html
    assert "Before." in html and "After." not in html
