"""Links carry signed, expiring tokens bound to one purpose and the subscriber's token version."""

import datetime as dt

import time_machine

from statuspage.extensions import db
from statuspage.models import Subscriber
from statuspage.services.notifications import tokens as subs
from tests.support import factories as f


def _tamper(token: str) -> str:
    payload, rest = token.split(".", 1)
    return payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + rest


def test_tampered_expired_revoked_and_misused_tokens_are_refused(app, client):
    f.page(name="Acme Cloud", public_id="acmepage")
    sub = f.subscriber("ops@customer.test", confirmed=False)
    confirm = subs.make_token(sub.id, sub.token_version, "confirm")

    assert client.get(f"/subscribe/confirm/{_tamper(confirm)}").status_code == 400
    assert client.post(f"/subscribe/confirm/{_tamper(confirm)}").status_code == 400
    # A confirm token is not an unsubscribe token (salt per purpose).
    assert client.post(f"/unsubscribe/{confirm}").status_code == 400
    assert client.get("/subscribe/manage/garbage").status_code == 400

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=3)):
        resp = client.get(f"/subscribe/confirm/{confirm}")
        assert resp.status_code == 400 and "expired" in resp.text
    assert client.get(f"/subscribe/confirm/{confirm}").status_code == 200

    # Bumping token_version revokes every link issued so far.
    sub.token_version += 1
    db.session.commit()
    resp = client.get(f"/subscribe/confirm/{confirm}")
    assert resp.status_code == 400 and "no longer valid" in resp.text
    db.session.expire_all()
    assert db.session.get(Subscriber, sub.id).confirmed_at is None


def test_one_click_with_a_bad_token_changes_nothing(app, client):
    f.page(name="Acme Cloud", public_id="acmepage")
    sub = f.subscriber("ops@customer.test")
    token = subs.make_token(sub.id, sub.token_version, "unsubscribe")
    resp = client.post(f"/unsubscribe/{_tamper(token)}", data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 400
    db.session.expire_all()
    assert db.session.get(Subscriber, sub.id).unsubscribed_at is None


def test_tokens_are_what_itsdangerous_signs_so_older_links_keep_working(app):
    """make_token signs with a cached signer; the result must stay an itsdangerous token: links mailed
    before (zlib-compressed payloads included) and after must load alike."""
    from itsdangerous import URLSafeTimedSerializer

    secret = app.config["SECRET_KEY"]
    with time_machine.travel(dt.datetime(2026, 11, 25, 12, 0, 0, tzinfo=dt.UTC), tick=False):
        for purpose in ("confirm", "manage", "unsubscribe"):
            reference = URLSafeTimedSerializer(secret, salt=f"statuspage.subscriber.{purpose}")
            assert subs.make_token(4711, 3, purpose) == reference.dumps([4711, 3])
            assert reference.loads(subs.make_token(12, 1, purpose)) == [12, 1]
    # A different secret signs differently (the signer cache is per secret).
    other = URLSafeTimedSerializer("another-secret-key-0123456789", salt="statuspage.subscriber.manage")
    assert other.dumps([12, 1]) != subs.make_token(12, 1, "manage")
