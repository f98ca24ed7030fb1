"""The heartbeat check's push URL is on its console page and in `statuspage checks list`."""

from statuspage.extensions import db
from tests.support import factories as f
from tests.support.console import login


def _heartbeat(comp):
    check = f.make_check(comp, slug="nightly-backup")
    check.kind = "heartbeat"
    check.heartbeat_token = "tok_0123456789abcdefghijkl"
    check.spec = {**(check.spec or {}), "kind": "heartbeat", "grace": 3600.0}
    db.session.commit()
    return check


def test_writers_see_the_ping_url_and_viewers_do_not(app, client):
    _heartbeat(f.component("Nightly backups", "backups", public=False))
    login(client, "responder")
    html = client.get("/admin/checks/nightly-backup").get_data(as_text=True)
    assert "http://status.test/ping/tok_0123456789abcdefghijkl" in html
    assert "curl -fsS" in html
    assert client.get("/ping/tok_0123456789abcdefghijkl").status_code == 200  # the URL shown works

    viewer = app.test_client()
    login(viewer, "viewer")
    html = viewer.get("/admin/checks/nightly-backup").get_data(as_text=True)
    assert "tok_0123456789abcdefghijkl" not in html and "shown to admins and responders" in html


def test_the_cli_lists_the_ping_url(app, runner):
    _heartbeat(f.component("Nightly backups", "backups", public=False))
    out = runner.invoke(args=["checks", "list"]).output
    assert "ping URL: http://status.test/ping/tok_0123456789abcdefghijkl" in out
