"""The private status page of an account: signed, revocable, showing only that account's components."""

from statuspage.extensions import db
from statuspage.services.accounts.private_links import account_view_token, revoke_view_link
from statuspage.services.audit import Actor
from tests.support import factories as f


def _site():
    now = f.T("2026-03-01 00:00")
    f.page(name="Acme Cloud", time_zone="UTC")
    mine = f.component("Globex EU instance", slug="eu-7", since=now)
    shared = f.component("Public API", slug="api", since=now)
    other = f.component("Initech US instance", slug="us-3", since=now, public=False)
    inc = f.incident("EU-7 login failures", components={mine: "major_outage"}, impact="major",
                     started_at=f.T("2026-03-02 10:00"))
    f.incident("US-3 slow", components={other: "degraded_performance"}, impact="minor")
    globex = f.account("G-1", "Globex", components=[mine, shared], sla_target=99.9)
    f.account("I-2", "Initech", components=[other])
    db.session.commit()
    return globex, inc


def test_the_link_shows_only_the_accounts_components_and_incidents(client, app):
    globex, _inc = _site()
    resp = client.get(f"/a/{account_view_token(globex)}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Globex EU instance" in html and "Public API" in html
    assert "Initech" not in html and "US-3" not in html and "us-3" not in html
    assert "EU-7 login failures" in html
    assert "your SLA target" in html and "99.9%" in html
    assert resp.headers["Cache-Control"] == "private, no-store, max-age=0"
    assert "noindex" in resp.headers["X-Robots-Tag"] and resp.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex, nofollow">' in html


def test_a_revoked_link_is_gone_and_the_new_one_works(client, app):
    globex, _ = _site()
    old = account_view_token(globex)
    revoke_view_link(globex, actor=Actor.system())
    db.session.commit()
    gone = client.get(f"/a/{old}")
    assert gone.status_code == 410
    assert "Globex" not in gone.get_data(as_text=True)
    assert gone.headers["Cache-Control"].startswith("private, no-store")
    assert client.get(f"/a/{account_view_token(globex)}").status_code == 200


def test_a_forged_or_tampered_token_is_not_found(client, app):
    globex, _ = _site()
    token = account_view_token(globex)
    assert client.get(f"/a/{token[:-2]}xx").status_code == 404
    from itsdangerous import URLSafeSerializer

    forged = URLSafeSerializer("not-the-secret-key-at-all", salt="statuspage.account-view").dumps({"a": globex.id, "v": 1})
    assert client.get(f"/a/{forged}").status_code == 404


def test_an_archived_account_link_is_not_found(client, app):
    globex, _ = _site()
    token = account_view_token(globex)
    from statuspage.db import utcnow

    globex.archived_at = utcnow()
    db.session.commit()
    assert client.get(f"/a/{token}").status_code == 404
