"""The manage link (in every email) changes components, unsubscribes and resubscribes."""

from statuspage.extensions import db
from statuspage.models import Subscriber
from statuspage.services.notifications import subscriptions as subscriptions_svc
from statuspage.services.notifications import tokens
from tests.support import factories as f
from tests.support.console import csrf_from


def test_preferences_change_components_and_unsubscribe(app, client):
    f.page(name="Acme Cloud", public_id="acmepage")
    api = f.component("Public API", "api")
    f.component("Database", "db", position=1)
    sub = f.subscriber("ops@customer.test")
    path = f"/subscribe/manage/{tokens.make_token(sub.id, sub.token_version, 'manage')}"
    page = client.get(path)
    assert page.status_code == 200 and "ops@customer.test" in page.text and "Public API" in page.text
    token = csrf_from(page.text)

    resp = client.post(path, data={"csrf_token": token, "action": "save", "scope": "some", "component": ["api"]})
    assert resp.status_code == 200 and "preferences are saved" in resp.text
    db.session.expire_all()
    assert subscriptions_svc.component_slugs(db.session.get(Subscriber, sub.id)) == ["api"]

    resp = client.post(path, data={"csrf_token": token, "action": "save", "scope": "some"})
    assert resp.status_code == 400 and "Choose at least one component" in resp.text

    resp = client.post(path, data={"csrf_token": token, "action": "save", "scope": "all"})
    db.session.expire_all()
    assert db.session.get(Subscriber, sub.id).all_components is True

    resp = client.post(path, data={"csrf_token": token, "action": "unsubscribe"})
    assert "You are unsubscribed" in resp.text
    db.session.expire_all()
    assert db.session.get(Subscriber, sub.id).unsubscribed_at is not None

    resp = client.post(path, data={"csrf_token": token, "action": "resubscribe"})
    assert "subscribed again" in resp.text
    db.session.expire_all()
    assert db.session.get(Subscriber, sub.id).active
    assert api.id is not None
