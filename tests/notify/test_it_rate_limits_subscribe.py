"""Subscribing is rate limited per client address (settings.subscribe_rate_limit)."""

from tests.conftest import make_env


def test_the_sixth_subscribe_in_a_minute_is_refused(app, client):
    codes = [client.post("/subscribe", json={"email": f"a{i}@customer.test"}).status_code for i in range(7)]
    assert codes[:5] == [202] * 5 and codes[5:] == [429, 429]


def test_the_limit_is_configurable(tmp_path, database_url):
    from statuspage import create_app
    from statuspage.extensions import db

    app = create_app({"TESTING": True}, env=make_env(tmp_path, database_url,
                                                     STATUSPAGE_SUBSCRIBE_RATE_LIMIT="2 per hour"))
    with app.app_context():
        db.create_all()
        client = app.test_client()
        codes = [client.post("/subscribe", json={"email": f"b{i}@customer.test"}).status_code for i in range(3)]
        db.session.remove()
        db.engine.dispose()
    assert codes == [202, 202, 429]
