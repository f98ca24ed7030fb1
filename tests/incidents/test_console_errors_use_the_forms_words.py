"""Errors in the console name what the form shows ("Title"), not the service's field ("name")."""

from tests.support import factories as f
from tests.support.console import csrf_token, login


def test_declaring_without_a_title_says_title(app, client):
    f.component("Public API", "api")
    login(client, "responder")
    resp = client.post("/admin/incidents/new", data={
        "csrf_token": csrf_token(client, "/admin/incidents/new"), "name": " ", "impact": "minor",
        "status": "investigating", "body": "Looking into it.", "publish": "1", "action": "declare"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Title is required" in html and "name is required" not in html
    assert "Looking into it." in html  # nothing typed is lost


def test_renaming_an_incident_to_nothing_says_title(app, client):
    api = f.component("Public API", "api")
    inc, _ = f.announced_incident("Elevated API errors", [api])
    login(client, "responder")
    resp = client.post(f"/admin/incidents/{inc.public_id}/edit", data={
        "csrf_token": csrf_token(client, f"/admin/incidents/{inc.public_id}"), "name": ""},
        follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "Title is required" in html and "name is required" not in html


def test_maintenance_errors_name_the_fields_on_the_form(app, client):
    api = f.component("Public API", "api")
    login(client, "responder")
    token = csrf_token(client, "/admin/maintenance/new")
    base = {"csrf_token": token, "name": "DB upgrade", "body": "Upgrading.", "scheduled_for": "2030-01-01T10:00",
            "scheduled_until": "2030-01-01T12:00", "reminder_minutes": "60", "components": str(api.id)}
    html = client.post("/admin/maintenance/new", data={**base, "name": ""}).get_data(as_text=True)
    assert "Title is required" in html
    resp = client.post("/admin/maintenance/new", data={**base, "reminder_minutes": "an hour"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Reminder must be a whole number of minutes" in html and "invalid literal" not in html
    html = client.post("/admin/maintenance/new", data={**base, "scheduled_until": "2029-12-31T10:00"}).get_data(
        as_text=True)
    assert "Ends: the window must end after it starts" in html


def test_user_errors_name_the_fields_too(app, client):
    login(client, "admin")
    resp = client.post("/admin/users", data={"csrf_token": csrf_token(client, "/admin/users"),
                                              "email": "new@acme.test", "role": "viewer", "password": "short"},
                       follow_redirects=True)
    assert "Password must be at least" in resp.get_data(as_text=True)
