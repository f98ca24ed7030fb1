"""The page has a stable id of its own (Statuspage's page_id): given once by a migration to pages that had
the old placeholder, the same in every process before it is stored, shown by `statuspage page info` and in
the console."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import Page
from statuspage.services.incidents.components import create_component
from statuspage.services.page import default_page_id, get_page
from statuspage.services.page_settings import update_page_settings
from tests.support.console import login
from tests.support.factories import ALICE

ID = re.compile(r"^[a-z0-9]{12}$")


def test_the_migration_gives_a_placeholder_page_a_random_id_once(app):
    db.drop_all()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(revision="0002")
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO page (id, public_id, name, time_zone, partial_outage_weight, "
                             "degraded_weight, settings, updated_at) VALUES (1, 'page', 'Acme', 'UTC', 0.3, 0, "
                             "'{}', '2026-01-01 00:00:00')"))
    upgrade()
    with db.engine.connect() as conn:
        public_id, created = conn.execute(sa.text("SELECT public_id, created_at FROM page")).one()
    assert ID.match(public_id) and public_id != "page" and created is not None
    downgrade(revision="0002")
    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT public_id FROM page")).scalar() != "page"
    db.drop_all()
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    db.create_all()


def test_a_new_page_gets_the_same_id_in_every_request_until_it_is_stored(app, client):
    first = client.get("/api/v2/status.json").get_json()["page"]["id"]
    db.session.rollback()
    assert db.session.get(Page, 1) is None  # a read-only request did not store it
    assert client.get("/api/v2/status.json").get_json()["page"]["id"] == first == default_page_id()
    assert ID.match(first)
    update_page_settings(name="Acme", actor=ALICE)  # the first write that reads the page stores it
    db.session.expire_all()
    assert db.session.scalar(select(Page.public_id)) == first


def test_page_info_shows_the_id_and_the_api_base_url(app, runner):
    create_component(name="API", actor=ALICE)
    page_id = get_page().public_id
    result = runner.invoke(args=["page", "info"])
    assert result.exit_code == 0, result.output
    assert f"Page id:            {page_id}" in result.output
    assert f"http://status.test/api/statuspage/v1/pages/{page_id}" in result.output
    info = json.loads(runner.invoke(args=["page", "info", "--json"]).output)
    assert info["page_id"] == page_id and info["components"] == 1


def test_the_dashboard_and_the_tokens_page_show_the_page_id(app, client):
    page_id = get_page().public_id
    db.session.commit()
    login(client, "admin")
    html = client.get("/admin/").get_data(as_text=True)
    assert f"<code data-page-id>{page_id}</code>" in html
    assert f"/api/statuspage/v1/pages/{page_id}" in html
    assert f"/api/statuspage/v1/pages/{page_id}" in client.get("/admin/tokens").get_data(as_text=True)
