"""`config apply` reconciles the database idempotently and archives what was removed."""

from pathlib import Path

from sqlalchemy import func, select

from statuspage.configfile import parse_config
from statuspage.extensions import db
from statuspage.models import Account, AuditLog, Check, Component, ComponentStatusInterval
from statuspage.services.config_sync import apply_config
from statuspage.services.page import current_site_version

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "statuspage.yml"


def test_apply_twice_reports_no_changes_the_second_time(app):
    first = apply_config(parse_config(EXAMPLE.read_text(), env={}))
    assert "component api" in first.created and "check api-health" in first.created
    version = current_site_version()
    second = apply_config(parse_config(EXAMPLE.read_text(), env={}))
    assert not second.changed, second.summary()
    assert second.summary().startswith("No changes")
    assert current_site_version() == version
    assert db.session.scalar(select(func.count()).select_from(Component)) == 8
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == 1


def test_removed_objects_are_archived_not_deleted(app):
    apply_config(parse_config(EXAMPLE.read_text(), env={}))
    smaller = """
page: {name: Acme Cloud}
components:
  - id: api
    name: Public API v2
    checks:
      - {id: api-health, kind: http, url: "http://127.0.0.1:8080/healthz", interval: 10s}
accounts: []
"""
    report = apply_config(parse_config(smaller, env={}))
    assert "component web" in report.archived
    assert "check web-home" in report.archived
    assert "account CRM-0001" in report.archived
    assert any(u.startswith("component api (") for u in report.updated)
    web = db.session.scalar(select(Component).where(Component.slug == "web"))
    assert web is not None and web.archived_at is not None
    check = db.session.scalar(select(Check).where(Check.slug == "api-health"))
    assert check.interval_seconds == 10.0
    assert db.session.scalar(select(Account).where(Account.external_id == "CRM-0001")).archived_at is not None
    # history stays
    assert db.session.scalar(select(func.count()).select_from(ComponentStatusInterval)
                             .where(ComponentStatusInterval.component_id == web.id)) == 1
    # and bringing it back unarchives
    again = apply_config(parse_config(EXAMPLE.read_text(), env={}))
    assert any(u.startswith("component web") for u in again.updated)
    assert db.session.get(Component, web.id).archived_at is None


def test_accounts_keep_their_components_contacts_and_team(app):
    apply_config(parse_config(EXAMPLE.read_text(), env={}))
    acc = db.session.scalar(select(Account).where(Account.external_id == "CRM-0005"))
    assert acc.name == "Wayne Analytics" and float(acc.arr) == 96000 and float(acc.sla_target) == 99.9
    assert sorted(ac.component.slug for ac in acc.components) == ["api", "eu-app", "eu-db", "jobs"]
    assert [(c.email, c.notify) for c in acc.contacts] == [("platform@wayne.example", "all"),
                                                          ("billing@wayne.example", "none")]
    assert [m.email for m in acc.team] == ["csm-emea@acme.example"]


def test_checks_are_spread_over_their_interval(app):
    apply_config(parse_config(EXAMPLE.read_text(), env={}))
    checks = db.session.scalars(select(Check).where(Check.interval_seconds == 30)).all()
    offsets = {round(c.next_run_at.timestamp() % 30, 3) for c in checks}
    assert len(offsets) == len(checks) > 3


def test_cli_apply_and_check(runner, tmp_path):
    ok = runner.invoke(args=["config", "check", str(EXAMPLE)])
    assert ok.exit_code == 0, ok.output
    assert "8 components, 8 checks, 5 accounts" in ok.output
    applied = runner.invoke(args=["config", "apply", str(EXAMPLE)])
    assert applied.exit_code == 0 and "created" in applied.output
    again = runner.invoke(args=["config", "apply", str(EXAMPLE)])
    assert again.exit_code == 0 and again.output.startswith("No changes")

    bad = tmp_path / "bad.yml"
    bad.write_text("page: {name: X}\ncomponents:\n  - {id: a, name: A, checks: [{id: x, kind: http}]}\n"
                   "  - {id: b, name: B, checks: [{id: y, kind: tcp, host: h, port: 1, interval: 1s}]}\n")
    rejected = runner.invoke(args=["config", "apply", str(bad)])
    assert rejected.exit_code == 1
    assert "components[0].checks[0].url" in rejected.output
    assert "components[1].checks[0].interval" in rejected.output
    # and nothing changed
    assert db.session.scalar(select(func.count()).select_from(Component)) == 8
