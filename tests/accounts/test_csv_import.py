"""`statuspage accounts import`: bad rows are rejected with reasons, the rest imported; re-import is idempotent."""

from statuspage.models import Account, AuditLog
from statuspage.services.accounts.csv_import import import_accounts_csv
from tests.support import factories as f

CRM = """Account ID,Account Name,ARR,Tier,Renewal Date,SLA,Owner Email,Team,Components,Contacts
A-1,Globex,"$120,000",enterprise,2027-03-31,99.9,jane@acme.test,csm@acme.test;se@acme.test,api;db,ops@globex.test:Globex Ops:all;cto@globex.test::major
,No Id Inc,1000,,,,,,api,
A-3,Bad Number,lots,,,,,,api,
A-4,Unknown Comp,5000,,,,,,api;nosuch,
A-5,Bad Email,5000,,,,not-an-email,,api,
A-6,Initech,50000,growth,,99.95,bob@acme.test,,web,it@initech.test::none
"""


def _components():
    for slug in ("api", "db", "web"):
        f.component(slug.upper(), slug=slug)


def test_it_rejects_bad_rows_with_reasons_and_imports_the_rest(app):
    _components()
    report = import_accounts_csv(CRM)
    outcomes = {r.line: (r.account_id, r.outcome) for r in report.rows}
    assert outcomes == {2: ("A-1", "created"), 3: (None, "rejected"), 4: ("A-3", "rejected"),
                        5: ("A-4", "rejected"), 6: ("A-5", "rejected"), 7: ("A-6", "created")}
    reasons = {r.line: " | ".join(r.reasons) for r in report.rejected}
    assert reasons[3] == "missing id"
    assert "arr: expected a number, got 'lots'" in reasons[4]
    assert "unknown component 'nosuch'" in reasons[5]
    assert "not an email address: 'not-an-email'" in reasons[6]
    globex = Account.query.filter_by(external_id="A-1").one()
    assert (globex.name, float(globex.arr), globex.tier, str(globex.renewal_date), float(globex.sla_target),
            globex.owner_email, globex.source) == ("Globex", 120000.0, "enterprise", "2027-03-31", 99.9,
                                                   "jane@acme.test", "import")
    assert sorted(ac.component.slug for ac in globex.components) == ["api", "db"]
    assert [(c.email, c.name, c.notify) for c in globex.contacts] == [
        ("ops@globex.test", "Globex Ops", "all"), ("cto@globex.test", None, "major")]
    assert [m.email for m in globex.team] == ["csm@acme.test", "se@acme.test"]
    assert Account.query.count() == 2
    assert AuditLog.query.filter_by(action="account.import").count() == 2
    assert report.summary().endswith("2 created, 0 updated, 0 unchanged, 4 rejected.")


def test_re_import_reports_unchanged_and_updates_by_external_id(app):
    _components()
    import_accounts_csv(CRM)
    again = import_accounts_csv(CRM)
    assert [r.outcome for r in again.rows if r.account_id in ("A-1", "A-6")] == ["unchanged", "unchanged"]
    changed = CRM.replace('"$120,000"', "130000").replace("api;db,ops", "api,ops")
    third = import_accounts_csv(changed)
    row = next(r for r in third.rows if r.account_id == "A-1")
    assert row.outcome == "updated" and row.reasons == ["arr", "components"]
    acc = Account.query.filter_by(external_id="A-1").one()
    assert float(acc.arr) == 130000 and [ac.component.slug for ac in acc.components] == ["api"]


def test_a_file_with_fewer_columns_leaves_the_other_fields_alone(app):
    _components()
    import_accounts_csv(CRM)
    report = import_accounts_csv("Account ID,Account Name,Annual Revenue\nA-1,Globex Corp,1\n")
    assert report.rows[0].outcome == "updated"
    acc = Account.query.filter_by(external_id="A-1").one()
    assert acc.name == "Globex Corp" and len(acc.contacts) == 2 and len(acc.components) == 2


def test_a_column_mapping_names_unusual_headers(app):
    _components()
    from statuspage.services.accounts.csv_import import parse_mapping

    text = "Acct #,Company,Revenue (USD),Services\nZ-9,Zeta,42,web\n"
    report = import_accounts_csv(text, mapping=parse_mapping(["Acct #=id", "Revenue (USD)=arr"]))
    assert [r.outcome for r in report.rows] == ["created"]
    assert float(Account.query.filter_by(external_id="Z-9").one().arr) == 42


def test_rows_of_accounts_owned_by_the_config_file_are_rejected(app):
    _components()
    f.account("A-1", "From config", source="config")
    report = import_accounts_csv("Account ID,Account Name\nA-1,Renamed\n")
    assert report.rows[0].outcome == "rejected"
    assert "config file" in report.rows[0].reasons[0]
    assert Account.query.filter_by(external_id="A-1").one().name == "From config"


def test_the_cli_exits_1_when_rows_were_rejected_but_saves_the_good_ones(app, runner, tmp_path):
    _components()
    from statuspage.extensions import db

    db.session.commit()
    path = tmp_path / "crm.csv"
    path.write_text(CRM, encoding="utf-8")
    result = runner.invoke(args=["accounts", "import", str(path)])
    assert result.exit_code == 1, result.output
    assert "line 4: rejected A-3: arr: expected a number, got 'lots'" in result.output
    assert "2 created, 0 updated, 0 unchanged, 4 rejected." in result.output
    db.session.remove()
    assert Account.query.count() == 2
    ok = tmp_path / "ok.csv"
    ok.write_text("Account ID,Account Name\nA-1,Globex\n", encoding="utf-8")
    assert runner.invoke(args=["accounts", "import", str(ok)]).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("Foo,Bar\n1,2\n", encoding="utf-8")
    result = runner.invoke(args=["accounts", "import", str(bad)])
    assert result.exit_code == 2 and "no column for the account id" in result.output
