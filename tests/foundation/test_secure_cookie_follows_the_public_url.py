"""Issue 17, item 6: the session cookie is ``Secure`` whenever the effective public URL is https —
also when only the config file's ``page.url`` says so (no STATUSPAGE_PUBLIC_URL)."""

import pytest

from statuspage import create_app
from statuspage.extensions import db
from tests.conftest import _reset_tables, make_env
from tests.support import factories as f


def _app(tmp_path, database_url, **env):
    base = make_env(tmp_path, database_url, **env)
    base.pop("STATUSPAGE_PUBLIC_URL")
    base.update(env)
    return create_app({"TESTING": True}, env=base)


def _session_cookie(client) -> str:
    resp = client.get("/login")
    return next(v for k, v in resp.headers.items() if k == "Set-Cookie" and v.startswith("session="))


@pytest.mark.parametrize(("page_url", "env", "secure"), [
    ("https://status.acme.example", {}, True),
    ("http://status.acme.example", {}, False),
    (None, {}, False),
    ("http://status.acme.example", {"STATUSPAGE_PUBLIC_URL": "https://status.acme.example"}, True),
    ("https://status.acme.example", {"STATUSPAGE_PUBLIC_URL": "http://127.0.0.1:8080"}, False),
    ("https://status.acme.example", {"STATUSPAGE_SECURE_COOKIES": "false"}, False),
    ("http://status.acme.example", {"STATUSPAGE_SECURE_COOKIES": "true"}, True),
])
def test_secure_flag(tmp_path, database_url, page_url, env, secure):
    app = _app(tmp_path, database_url, **env)
    with app.app_context():
        _reset_tables(app)
        f.page(url=page_url)
        cookie = _session_cookie(app.test_client())
        assert ("; Secure" in cookie) is secure, cookie
        db.session.remove()
        db.engine.dispose()


def test_a_config_apply_that_changes_the_url_changes_the_flag_without_a_restart(tmp_path, database_url):
    app = _app(tmp_path, database_url)
    with app.app_context():
        _reset_tables(app)
        f.page(url="http://status.acme.example")
        db.session.remove()
    assert "; Secure" not in _session_cookie(app.test_client())
    with app.app_context():
        f.page(url="https://status.acme.example")
        db.session.remove()
    assert "; Secure" in _session_cookie(app.test_client())
    with app.app_context():
        db.engine.dispose()
