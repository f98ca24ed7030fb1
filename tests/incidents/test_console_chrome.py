"""The console says who is signed in and where you are; failing checks show the values their conditions saw;
ARR always carries its currency."""

from lxml import html as lxml_html

from statuspage.extensions import db
from tests.support import factories as f
from tests.support.console import login


def _doc(client, path):
    resp = client.get(path)
    assert resp.status_code == 200, path
    return lxml_html.fromstring(resp.get_data(as_text=True))


def test_the_header_names_the_signed_in_person_and_marks_the_current_section(app, client):
    api = f.component("Public API", "api")
    inc, _ = f.announced_incident("Elevated API errors", [api])
    login(client, f.user("responder", "oncall@acme.test"))
    for path, section in (("/admin/", "Dashboard"), ("/admin/incidents", "Incidents"),
                          (f"/admin/incidents/{inc.public_id}", "Incidents"), ("/admin/maintenance/new", "Maintenance"),
                          ("/admin/accounts", "Accounts"), ("/admin/outbox", "Outbox")):
        doc = _doc(client, path)
        current = [a.text_content() for a in doc.xpath('//nav[@aria-label="Console"]//a[@aria-current="page"]')]
        assert current == [section], path
        who = doc.xpath('//*[@class="whoami"]')[0].text_content()
        assert "oncall@acme.test" in who and "Responder" in who and "Sign out" in who
    assert not _doc(client, "/admin/").xpath('//nav[@aria-label="Console"]//a[@href="/admin/users"]')


def test_failing_checks_show_resolved_values_and_passing_conditions_as_passed(app, client):
    check = f.make_check(f.component("Public API", "api"), slug="api-health")
    check.last_result = {"outcome": "down", "conditions": [
        {"text": "[BODY].status == ok", "resolved": "[BODY].status (ok) == ok", "ok": True},
        {"text": "[STATUS] == 200", "resolved": "[STATUS] (503) == 200", "ok": False},
        {"text": "[RESPONSE_TIME] < 800", "resolved": "[RESPONSE_TIME] (812) < 800", "ok": False,
         "severity": "degraded"}]}
    db.session.commit()
    login(client, "responder")
    for path in ("/admin/", "/admin/checks/api-health"):
        items = _doc(client, path).xpath('//ul[@class="conditions"]/li')
        texts = [" ".join(li.text_content().split()) for li in items]
        assert texts == ["✓ passed: [BODY].status (ok) == ok", "✗ failed: [STATUS] (503) == 200",
                         "~ failed, degrades: [RESPONSE_TIME] (812) < 800"], path
        assert [li.get("class") for li in items] == ["cond-ok", "cond-fail", "cond-degraded"]


def test_arr_is_shown_with_the_pages_currency_everywhere(app, client):
    f.page(settings={"currency": "EUR"})
    api = f.component("Public API", "api")
    f.account("CRM-1", "Globex", components=[api], arr=120000, sla_target=99.9, owner="jane@acme.test")
    inc, _ = f.announced_incident("Elevated API errors", [api])
    login(client, "admin")
    for path in ("/admin/accounts", "/admin/accounts/CRM-1", "/admin/sla", f"/admin/incidents/{inc.public_id}",
                 f"/admin/incidents/{inc.public_id}/accounts"):
        text = " ".join(_doc(client, path).text_content().split())
        assert "EUR 120,000" in text, path
        assert "120,000.00" not in text, path
