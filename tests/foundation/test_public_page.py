"""A first public page: groups, components and their status; /healthz for the app itself."""

from pathlib import Path

from sqlalchemy import select

from statuspage.configfile import parse_config
from statuspage.extensions import db
from statuspage.models import Component
from statuspage.services.config_sync import apply_config
from statuspage.services.incidents.status import set_check_status

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "statuspage.yml"


def test_the_page_lists_groups_and_public_components(app, client):
    apply_config(parse_config(EXAMPLE.read_text(), env={}))
    html = client.get("/").get_data(as_text=True)
    assert "Acme Cloud" in html
    assert "All Systems Operational" in html
    for name in ("Core platform", "US instance (us-east)", "Public API", "EU database", "Background jobs"):
        assert name in html
    assert "Nightly backups" not in html  # internal component
    assert "127.0.0.1:8080/healthz" not in html  # check targets never leak


def test_a_component_outage_shows_on_the_page(app, client):
    apply_config(parse_config(EXAMPLE.read_text(), env={}))
    api = db.session.scalar(select(Component).where(Component.slug == "api"))
    set_check_status(api, "major_outage")
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "Major System Outage" in html
    assert 'data-component="api"' in html and "Major Outage" in html


def test_healthz_answers(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json == {"status": "ok"}
