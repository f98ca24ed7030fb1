"""A failure seen from one location below the quorum: never public, but on the private view of the
accounts served from there and in their owner's mail — through the real API, outbox and SMTP."""

import datetime as dt

import pytest
from sqlalchemy import select

from statuspage.db import utcnow
from statuspage.extensions import db
from statuspage.models import Account, Check, Component, OutboxMessage
from statuspage.services.accounts.private_links import account_view_token
from statuspage.services.accounts.regional import regional_failures
from statuspage.services.notifications.outbox.deliver import deliver_outbox
from statuspage.services.page import get_page
from tests.conftest import make_env
from tests.support import factories as f

from .helpers import apply_three, post, probe_tokens, record_local, result, text_of


@pytest.fixture
def app_env(tmp_path, database_url, smtp_server):
    return make_env(tmp_path, database_url, STATUSPAGE_SMTP_HOST="127.0.0.1",
                    STATUSPAGE_SMTP_PORT=str(smtp_server.port))


def _check() -> Check:
    db.session.expire_all()
    return db.session.scalar(select(Check).where(Check.slug == "api-health"))


def _account(external_id: str) -> Account:
    return db.session.scalar(select(Account).where(Account.external_id == external_id))


def _eu_west_failing(client) -> dt.datetime:
    """Quorum 2 of 3: local and us-east see the API up, eu-west sees it failing since t1."""
    apply_three()
    page = get_page()
    page.time_zone = "Europe/Berlin"
    db.session.commit()
    tokens = probe_tokens("eu-west", "us-east")
    cid = _check().id
    t0 = utcnow().replace(microsecond=0) - dt.timedelta(seconds=40)
    t1 = t0 + dt.timedelta(seconds=30)
    record_local(cid, t0)
    for loc in ("eu-west", "us-east"):
        assert post(client, loc, tokens[loc], [result(cid, t0)]).status_code == 200
    assert post(client, "eu-west", tokens["eu-west"], [result(cid, t1, "down")]).status_code == 200
    check = _check()
    assert check.status == "up" and [p["location"] for p in check.partial_failures] == ["eu-west"]
    return t1


def _berlin(t: dt.datetime) -> str:
    return t.astimezone(get_page().tz).strftime("%H:%M")


def _view(client, external_id: str) -> str:
    resp = client.get(f"/a/{account_view_token(_account(external_id))}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_the_eu_west_account_sees_the_regional_problem_and_the_public_does_not(app, client):
    t1 = _eu_west_failing(client)

    public = text_of(client.get("/").get_data(as_text=True))
    assert "All Systems Operational" in public and "eu-west" not in public and "Regional" not in public
    assert db.session.scalar(select(Component.status).where(Component.slug == "api")) == "operational"

    eu = text_of(_view(client, "CRM-EU"))
    expected = f"Regional problem seen from eu-west (Frankfurt): Public API failing since {_berlin(t1)}"
    assert expected in eu
    assert "(503)" in eu  # what eu-west saw
    assert "All your services are operational" not in eu

    us = text_of(_view(client, "CRM-US"))
    assert "Regional problem" not in us and "eu-west" not in us
    assert "All your services are operational" in us

    # One function feeds the view and the mail.
    (failure,) = regional_failures(_account("CRM-EU"), utcnow())
    assert failure.location == "eu-west" and failure.status == "down" and failure.since == t1
    assert regional_failures(_account("CRM-US"), utcnow()) == []


def test_the_owner_hears_of_it_by_mail_and_the_other_owner_does_not(app, client, smtp_server):
    t1 = _eu_west_failing(client)
    stats = deliver_outbox("test-worker")
    assert stats.sent == 1
    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["jane@acme.example"]
    assert mail.message["Subject"] == "[Acme accounts] Regional problem seen from eu-west: Public API"
    text = mail.message.get_body(("plain",)).get_content()
    html = text_of(mail.message.get_body(("html",)).get_content())
    for body in (text, html):
        assert f"Regional problem seen from eu-west (Frankfurt): Public API failing since {_berlin(t1)}" in body
        assert "Euro Corp" in body and "Yankee" not in body

    # The same failure again (the next failing run) mails nobody twice.
    cid = _check().id
    tokens = probe_tokens("eu-west")
    assert post(client, "eu-west", tokens["eu-west"],
                [result(cid, t1 + dt.timedelta(seconds=30), "down")]).status_code == 200
    assert deliver_outbox("test-worker").claimed == 0


def test_the_owners_incident_digest_lists_the_regional_problem_too(app, client, smtp_server):
    t1 = _eu_west_failing(client)
    db.session.query(OutboxMessage).delete()  # only the incident's mail below
    db.session.commit()
    api = db.session.scalar(select(Component).where(Component.slug == "api"))
    f.announced_incident("Elevated error rates", [api])
    deliver_outbox("test-worker")
    digests = {m.rcpt_tos[0]: m for m in smtp_server.messages if "accounts]" in m.message["Subject"]}
    jane = digests["jane@acme.example"].message.get_body(("plain",)).get_content()
    assert "Elevated error rates" in jane
    assert "Regional problems on the accounts you own" in jane
    assert f"Regional problem seen from eu-west (Frankfurt): Public API failing since {_berlin(t1)}" in jane
    joe = digests["joe@acme.example"].message.get_body(("plain",)).get_content()
    assert "Elevated error rates" in joe and "Regional problem" not in joe
