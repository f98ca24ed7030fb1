"""The shared fixtures are real: an SMTP server, an HTTP target, a live app server."""

import smtplib
from email.message import EmailMessage

import requests


def test_smtp_server_captures_messages_and_can_refuse(smtp_server):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@acme.example", "b@acme.example", "Hello"
    msg.set_content("body")
    with smtplib.SMTP("127.0.0.1", smtp_server.port) as s:
        s.send_message(msg)
    got = smtp_server.wait_for(1)
    assert got[0].message["Subject"] == "Hello" and got[0].rcpt_tos == ["b@acme.example"]
    smtp_server.rcpt_reply = "550 No such user"
    with smtplib.SMTP("127.0.0.1", smtp_server.port) as s:
        try:
            s.send_message(msg)
            raise AssertionError("expected a refusal")
        except smtplib.SMTPRecipientsRefused as exc:
            assert exc.recipients["b@acme.example"][0] == 550


def test_target_server_does_what_the_test_says(target):
    target.set("/down", status=503, body="nope")
    resp = requests.get(target.url + "/down", timeout=5)
    assert resp.status_code == 503 and resp.text == "nope"


def test_live_server_serves_the_app(live_server):
    resp = requests.get(live_server.url + "/healthz", timeout=5)
    assert resp.json() == {"status": "ok"}
