"""A customer finds how to subscribe from any public page (and the static export keeps the link live)."""

import datetime as dt

from statuspage.db import utcnow
from statuspage.services.site.export import export_site
from tests.support import factories as f


def test_index_component_incident_and_history_link_to_the_subscribe_form(app, client):
    api = f.component("Public API", "api")
    inc = f.incident("Elevated API errors", components={api: "major_outage"}, status="resolved",
                     started_at=utcnow() - dt.timedelta(hours=2), resolved_at=utcnow() - dt.timedelta(hours=1))
    for path in ("/", "/components/api", f"/incidents/{inc.public_id}", "/history"):
        html = client.get(path).get_data(as_text=True)
        assert 'href="/subscribe"' in html, path
        assert "Subscribe to updates" in html, path


def test_the_static_export_points_subscribing_at_the_live_site(app, tmp_path):
    f.component("Public API", "api")
    export_site(app, tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text()
    assert 'href="http://status.test/subscribe"' in html
