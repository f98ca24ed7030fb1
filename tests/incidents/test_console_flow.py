"""The console by HTTP: declare, update with the composer, preview, notes, publish a draft, postmortem."""

from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import Incident
from tests.support.console import csrf_token, login
from tests.support.factories import make_components


def test_a_responder_declares_and_resolves_an_incident_in_the_console(app, client):
    api, web = make_components("api", "web")
    login(client, "responder")
    token = csrf_token(client, "/admin/incidents/new")
    resp = client.post("/admin/incidents/new", data={
        "csrf_token": token, "name": "API errors", "impact": "major", "status": "investigating",
        "body": "Looking into it.", f"component-{api.id}": "major_outage", f"component-{web.id}": "partial_outage",
        "notify": "1", "publish": "1", "action": "declare"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    inc = db.session.scalar(select(Incident))
    page = client.get(f"/admin/incidents/{inc.public_id}").get_data(as_text=True)
    assert "API errors" in page and "Post an update" in page
    # server-side preview keeps the draft text and renders markdown
    resp = client.post(f"/admin/incidents/{inc.public_id}/updates", data={
        "csrf_token": token, "status": "identified", "body": "**Root** found", "action": "preview"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<strong>Root</strong>" in html and "**Root** found" in html
    for status in ("identified", "monitoring", "resolved"):
        resp = client.post(f"/admin/incidents/{inc.public_id}/updates", data={
            "csrf_token": token, "status": status, "body": f"Now {status}.", "notify": "1", "action": "post",
            f"component-{api.id}": "operational" if status != "identified" else "major_outage"})
        assert resp.status_code == 303
    db.session.expire_all()
    inc = db.session.scalar(select(Incident))
    assert inc.status == "resolved"
    public = client.get(f"/incidents/{inc.public_id}").get_data(as_text=True)
    assert "Now resolved." in public and "Now identified." in public


def test_console_pages_render_for_every_role(app, client):
    make_components("api")
    login(client, "admin")
    for path in ("/admin/", "/admin/incidents", "/admin/incidents/new", "/admin/maintenance",
                 "/admin/maintenance/new", "/admin/templates", "/admin/reports", "/admin/users",
                 "/admin/tokens", "/admin/audit", "/account/password"):
        assert client.get(path).status_code == 200, path
