"""Account managers create, edit and archive accounts in the console: bad input re-renders with every
problem named next to its field and nothing saved; config-owned accounts stay read-only; viewers can't."""

import pytest

from statuspage.extensions import db
from statuspage.models import Account, AuditLog
from tests.support import factories as f
from tests.support.console import csrf_token, login

CONTACT_ROWS = 3  # spare rows on a new account's form


@pytest.fixture
def amy(app, client):
    f.page()
    f.component("Public API", "api")
    f.component("EU region", "eu", position=1)
    amy = f.user("account_manager", "amy@acme.test")
    db.session.commit()
    login(client, amy)
    return amy


def _form(token: str, **fields) -> dict:
    data = {"csrf_token": token, "id": "ACME-7", "name": "Initrode", "arr": "240000", "tier": "enterprise",
            "renewal_date": "2027-03-31", "sla_target": "99.95", "owner": "amy@acme.test",
            "team": "bo@acme.test\ncy@acme.test", "components": ["api", "eu"],
            "contact_email": ["cto@initrode.test", "ops@initrode.test", ""],
            "contact_name": ["Dana CTO", "", ""], "contact_role": ["CTO", "on-call", ""],
            "contact_notify": ["major", "all", "all"]}
    data.update(fields)
    return data


def test_an_account_manager_creates_an_account_from_the_form(amy, client):
    page = client.get("/admin/accounts/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for label in ('for="id"', 'for="name"', 'for="arr"', 'for="sla_target"', 'for="contact-email-0"'):
        assert label in html
    token = csrf_token(client, "/admin/accounts/new")

    resp = client.post("/admin/accounts/new", data=_form(token))
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/accounts/ACME-7")
    shown = client.get("/admin/accounts/ACME-7").get_data(as_text=True)
    assert "Account Initrode created." in shown and "cto@initrode.test" in shown and "Major incidents only" not in shown

    acc = Account.query.filter_by(external_id="ACME-7").one()
    assert (acc.name, float(acc.arr), acc.tier, str(acc.renewal_date), float(acc.sla_target), acc.owner_email) == (
        "Initrode", 240000.0, "enterprise", "2027-03-31", 99.95, "amy@acme.test")
    assert sorted(ac.component.slug for ac in acc.components) == ["api", "eu"]
    assert sorted(m.email for m in acc.team) == ["bo@acme.test", "cy@acme.test"]
    assert [(c.email, c.name, c.role, c.notify) for c in acc.contacts] == [
        ("cto@initrode.test", "Dana CTO", "CTO", "major"), ("ops@initrode.test", None, "on-call", "all")]
    assert acc.source == "api"
    assert AuditLog.query.filter_by(action="account.create", object_id="ACME-7", actor_label="amy@acme.test").count() == 1


def test_bad_input_re_renders_with_each_problem_and_saves_nothing(amy, client):
    token = csrf_token(client, "/admin/accounts/new")
    resp = client.post("/admin/accounts/new", data=_form(
        token, arr="-5", sla_target="101", owner="not-an-email",
        contact_email=["cto@initrode.test", "broken@", ""]))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "The account was not saved" in html
    assert 'id="err-arr"' in html and 'id="err-sla_target"' in html and 'id="err-owner"' in html
    assert 'id="err-contacts-1-email"' in html  # next to the second contact row, where the typo is
    assert 'aria-invalid="true"' in html
    # What was typed is still there to correct.
    assert 'value="Initrode"' in html and 'value="broken@"' in html and 'value="99.95"' not in html
    assert Account.query.count() == 0

    f.account("ACME-7", "Someone else")
    db.session.commit()
    taken = client.post("/admin/accounts/new", data=_form(token))
    assert taken.status_code == 409 and "already exists" in taken.get_data(as_text=True)


def test_editing_changes_fields_removes_cleared_contacts_and_archiving_hides_it(amy, client):
    api = f.component("Billing", "billing", position=2)
    f.account("G-1", "Globex", components=[api], arr=1000, contacts=[("a@globex.test", "all"),
                                                                       ("b@globex.test", "major")])
    db.session.commit()
    form = client.get("/admin/accounts/G-1/edit").get_data(as_text=True)
    assert 'value="a@globex.test"' in form and 'value="b@globex.test"' in form and "readonly" in form
    token = csrf_token(client, "/admin/accounts/G-1/edit")

    resp = client.post("/admin/accounts/G-1/edit", data=_form(
        token, id="IGNORED", name="Globex Corp", arr="1500", tier="", renewal_date="", sla_target="", owner="",
        team="", components=["billing", "api"], contact_email=["a@globex.test", "", "new@globex.test"],
        contact_name=["", "", "New"], contact_role=["", "", ""], contact_notify=["all", "major", "none"]))
    assert resp.status_code == 303
    page = client.get("/admin/accounts/G-1").get_data(as_text=True)
    assert "Saved Globex Corp:" in page and "name" in page
    db.session.expire_all()
    acc = Account.query.filter_by(external_id="G-1").one()
    assert (acc.name, float(acc.arr), acc.tier, acc.sla_target) == ("Globex Corp", 1500.0, None, None)
    assert sorted(ac.component.slug for ac in acc.components) == ["api", "billing"]
    assert sorted((c.email, c.notify) for c in acc.contacts) == [("a@globex.test", "all"),
                                                                ("new@globex.test", "none")]

    client.post("/admin/accounts/G-1/archive", data={"csrf_token": token})
    listing = client.get("/admin/accounts").get_data(as_text=True)
    assert "Globex Corp is archived" in listing and 'href="/admin/accounts/G-1"' not in listing
    assert client.get("/admin/accounts/G-1/edit").status_code == 404


def test_config_owned_accounts_viewers_and_forged_posts_are_refused(amy, client):
    f.account("CFG-1", "From YAML", source="config")
    vera = f.user("viewer", "vera@acme.test")
    db.session.commit()
    resp = client.get("/admin/accounts/CFG-1/edit")
    assert resp.status_code == 303
    assert "comes from the configuration file" in client.get("/admin/accounts/CFG-1").get_data(as_text=True)
    token = csrf_token(client, "/admin/accounts/new")
    assert client.post("/admin/accounts/CFG-1/archive", data={"csrf_token": token}).status_code == 303
    assert Account.query.filter_by(external_id="CFG-1").one().archived_at is None

    assert client.post("/admin/accounts/new", data={**_form(token), "csrf_token": "forged"}).status_code == 400
    login(client, vera)
    assert client.get("/admin/accounts/new").status_code == 403
    assert client.post("/admin/accounts/new", data=_form(token)).status_code in (400, 403)
    assert Account.query.count() == 1
