"""404, 410 and 500 answer with pages in the product's look, public and console alike; the API keeps JSON."""

import pytest
from flask import abort

from tests.support import factories as f
from tests.support.console import login


@pytest.fixture
def failing_app(app):
    """The app with two routes of the test's own that fail the way a bug or a withdrawn page would."""

    @app.get("/boom-public")
    def _boom_public():
        raise RuntimeError("a bug")

    @app.get("/admin/boom")
    def _boom_console():
        raise RuntimeError("a bug")

    @app.get("/gone")
    def _gone():
        abort(410)

    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_public_404_is_a_page_of_the_site(app, client):
    f.page(name="Acme Cloud")
    resp = client.get("/no-such-page")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert "Page not found" in html and "Acme Cloud" in html
    assert 'href="/style.css"' not in html and "/static/style.css" in html
    assert 'href="/subscribe"' in html  # the site's navigation, not Werkzeug's bare text
    assert "Not Found</h1>" not in html  # Werkzeug's default page
    assert client.get("/incidents/doesnotexist").status_code == 404
    assert "Page not found" in client.get("/components/nope").get_data(as_text=True)


def test_410_and_500_on_the_public_site(failing_app):
    client = failing_app.test_client()
    gone = client.get("/gone")
    assert gone.status_code == 410 and "This link is gone" in gone.get_data(as_text=True)
    boom = client.get("/boom-public")
    html = boom.get_data(as_text=True)
    assert boom.status_code == 500 and "Something went wrong on our side" in html
    assert "a bug" not in html and "Traceback" not in html
    assert boom.headers["Cache-Control"] == "no-store"


def test_console_errors_use_the_console_look(failing_app):
    client = failing_app.test_client()
    login(client, "viewer")
    missing = client.get("/admin/incidents/doesnotexist")
    html = missing.get_data(as_text=True)
    assert missing.status_code == 404 and "Page not found" in html and 'aria-label="Console"' in html
    forbidden = client.get("/admin/users")
    assert forbidden.status_code == 403 and "Not allowed" in forbidden.get_data(as_text=True)
    boom = client.get("/admin/boom")
    assert boom.status_code == 500 and 'aria-label="Console"' in boom.get_data(as_text=True)


def test_the_api_still_answers_json(app, client):
    resp = client.get("/api/v1/nothing-here")
    assert resp.status_code == 404 and resp.is_json and resp.get_json()["error"]["code"]
    assert client.get("/api/v2/nothing.json").is_json
