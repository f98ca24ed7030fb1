"""Backups restore what was there; a dump loads into an empty database of the other kind."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from statuspage import create_app
from statuspage.configfile import parse_config
from statuspage.extensions import db
from statuspage.models import Account, Component, ComponentStatusInterval
from statuspage.services.config_sync import apply_config
from statuspage.services.incidents.status import set_check_status
from tests.conftest import _reset_tables, make_env, pg_database_url

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "statuspage.yml"


def _snapshot():
    comps = [(c.slug, c.status, c.check_status) for c in db.session.scalars(select(Component).order_by(Component.slug))]
    intervals = [(i.component_id, i.status, i.source, i.started_at, i.ended_at) for i in
                 db.session.scalars(select(ComponentStatusInterval).order_by(ComponentStatusInterval.id))]
    accounts = [(a.external_id, a.arr, a.sla_target, a.renewal_date, sorted(c.email for c in a.contacts))
                for a in db.session.scalars(select(Account).order_by(Account.external_id))]
    return comps, intervals, accounts


def _populate():
    apply_config(parse_config(EXAMPLE.read_text(), env={}))
    api = db.session.scalar(select(Component).where(Component.slug == "api"))
    set_check_status(api, "partial_outage")
    db.session.commit()


def test_backup_then_restore_brings_back_the_data(app, runner, tmp_path):
    _populate()
    before = _snapshot()
    out = runner.invoke(args=["backup", str(tmp_path / "b.bak")])
    assert out.exit_code == 0, out.output
    # change things, then restore
    api = db.session.scalar(select(Component).where(Component.slug == "api"))
    set_check_status(api, "operational")
    db.session.commit()
    restored = runner.invoke(args=["restore", "--yes", str(tmp_path / "b.bak")])
    assert restored.exit_code == 0, restored.output
    db.session.remove()
    assert _snapshot() == before


API_PATHS = [
    "/api/v2/summary.json", "/api/v2/status.json", "/api/v2/components.json", "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json", "/api/v2/scheduled-maintenances.json",
    "/api/v1/components", "/api/v1/component-groups", "/api/v1/checks", "/api/v1/incidents",
    "/api/v1/maintenance", "/api/v1/subscribers", "/api/v1/accounts", "/api/v1/accounts/CRM-0001",
]


def _responses(client, token):
    out = {}
    for path in API_PATHS:
        resp = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200, (path, resp.status_code)
        out[path] = resp.get_json()
    return out


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_sqlite_dump_loads_into_postgresql_unchanged(app, runner, tmp_path, worker_id, db_backend):
    _populate()
    from statuspage.services.audit import Actor
    from statuspage.services.incidents.lifecycle import declare_incident, post_update
    from statuspage.services.users import create_token

    inc = declare_incident(name="Dump me", impact="major", components={"api": "major_outage"},
                           body="Investigating **it**.", actor=Actor.system("test"))
    post_update(inc, status="identified", body="Found it.", actor=Actor.system("test"))
    _, token = create_token("dump-test", "read")
    api_before = _responses(app.test_client(), token)
    before = _snapshot()
    out = runner.invoke(args=["dump", str(tmp_path / "all.jsonl.gz")])
    assert out.exit_code == 0, out.output

    pg_app = create_app({"TESTING": True}, env=make_env(tmp_path / "pg", pg_database_url(worker_id)))
    with pg_app.app_context():
        _reset_tables(pg_app)
        loaded = pg_app.test_cli_runner().invoke(args=["load", str(tmp_path / "all.jsonl.gz")])
        assert loaded.exit_code == 0, loaded.output
        assert _snapshot() == before
        # every /api/v2 and /api/v1 answer is the same on the new database
        api_after = _responses(pg_app.test_client(), token)
        for path in API_PATHS:
            assert api_after[path] == api_before[path], path
        # identity sequences continue after the loaded ids
        new = Component(slug="new-one", name="New")
        db.session.add(new)
        db.session.commit()
        assert new.id == db.session.scalar(select(func.max(Component.id)))
        again = pg_app.test_cli_runner().invoke(args=["load", str(tmp_path / "all.jsonl.gz")])
        assert again.exit_code == 1 and "not empty" in again.output
        db.session.remove()
        db.engine.dispose()


def test_load_refuses_a_file_that_is_not_a_dump(app, runner, tmp_path):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"hello": 1}\n')
    out = runner.invoke(args=["load", str(bad)])
    assert out.exit_code == 1 and "not a statuspage dump" in out.output
