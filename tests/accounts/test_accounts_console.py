"""Console pages: roles, the affected-accounts page and outreach, watches, the SLA page and its exports."""

import pytest

from statuspage.extensions import db
from statuspage.models import AccountOutreach, AccountWatch, AuditLog
from tests.accounts.scenario import build
from tests.support import factories as f
from tests.support.console import csrf_token, login


@pytest.fixture
def s(app):
    return build()


def test_a_viewer_reads_the_impact_but_cannot_record_outreach(s, client):
    login(client, f.user("viewer", "vera@acme.test"))
    page = client.get(f"/admin/incidents/{s.c.public_id}/accounts")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "470,000" in html and html.index("Umbrella") < html.index("Globex") < html.index("Initech")
    assert "75 min" in html
    assert "Record contacted" not in html
    resp = client.post(f"/admin/incidents/{s.c.public_id}/accounts/G-1/outreach", data={"action": "contacted"})
    assert resp.status_code in (400, 403)  # CSRF or role: never recorded
    assert AccountOutreach.query.count() == 0


def test_an_account_manager_records_outreach_and_it_is_audited(s, client):
    login(client, f.user("account_manager", "amy@acme.test"))
    token = csrf_token(client, f"/admin/incidents/{s.c.public_id}/accounts")
    resp = client.post(f"/admin/incidents/{s.c.public_id}/accounts/G-1/outreach",
                       data={"action": "contacted", "csrf_token": token})
    assert resp.status_code == 303
    row = AccountOutreach.query.one()
    assert row.contacted_at is not None and row.updated_by == "amy@acme.test"
    assert AuditLog.query.filter_by(action="account.outreach.contacted").count() == 1
    html = client.get(f"/admin/incidents/{s.c.public_id}/accounts").get_data(as_text=True)
    assert "✓ Contacted" in html
    client.post(f"/admin/incidents/{s.c.public_id}/accounts/G-1/outreach",
                data={"action": "contacted", "done": "0", "csrf_token": token})
    db.session.expire_all()
    assert AccountOutreach.query.one().contacted_at is None


def test_watch_and_unwatch_from_the_console(s, client):
    amy = f.user("account_manager", "amy@acme.test")
    login(client, amy)
    token = csrf_token(client, "/admin/accounts")
    client.post("/admin/accounts/I-2/watch", data={"csrf_token": token})
    client.post("/admin/accounts/watch-all", data={"csrf_token": token, "on": "1"})
    assert {(w.account_id, w.all_owned) for w in AccountWatch.query} == {(s.initech.id, False), (None, True)}
    html = client.get("/admin/accounts").get_data(as_text=True)
    assert "Stop following all my accounts" in html
    client.post("/admin/accounts/I-2/unwatch", data={"csrf_token": token})
    assert AccountWatch.query.count() == 1


def test_accounts_list_filters_and_detail_with_private_link(s, client):
    login(client, f.user("account_manager", "amy@acme.test"))
    html = client.get("/admin/accounts?owner=jane@acme.test").get_data(as_text=True)
    assert "Umbrella" in html and "Globex" in html and "Initech" not in html
    html = client.get("/admin/accounts?tier=growth").get_data(as_text=True)
    assert "Initech" in html and "Umbrella" not in html
    detail = client.get("/admin/accounts/G-1").get_data(as_text=True)
    assert "ops@globex.test" in detail and "major incidents only" in detail
    assert "http://localhost/a/" in detail and "Revoke and issue a new link" in detail
    assert client.get("/admin/accounts/NOPE").status_code == 404


def test_a_viewer_does_not_see_the_private_link(s, client):
    login(client, f.user("viewer", "vera@acme.test"))
    assert "/a/" not in client.get("/admin/accounts/G-1").get_data(as_text=True)
    assert client.post("/admin/accounts/G-1/view-link/revoke").status_code in (400, 403)


def test_sla_page_with_period_picker_exports_and_at_risk(s, client):
    login(client, f.user("viewer", "vera@acme.test"))
    html = client.get("/admin/sla?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    assert "99.74%" in html and "breached" in html and "Uptime = 1 −" in html
    assert "below 99% → 25%" in html and "coverage is at least 90%" in html
    csv_resp = client.get("/admin/sla?from=2026-03-01&to=2026-03-31&format=csv")
    assert csv_resp.mimetype == "text/csv" and "G-1,Globex" in csv_resp.get_data(as_text=True)
    assert 'filename="sla_2026-03-01_2026-03-31.csv"' in csv_resp.headers["Content-Disposition"]
    js = client.get("/admin/sla?month=2026-03&format=json")
    assert js.json["accounts"][1]["account"] == "G-1"
    assert "expected a date" in client.get("/admin/sla?from=bad").get_data(as_text=True)
