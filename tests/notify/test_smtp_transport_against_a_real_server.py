"""The SMTP transport against real aiosmtpd servers: STARTTLS, implicit TLS, AUTH, certificate checks,
dot-stuffing, SIZE, refusals (the session survives a 5xx/4xx for the next message), a dropped session
reopens — the transaction is written by hand, so each of these is checked on the wire."""

from __future__ import annotations

import re
import smtplib
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import given
from hypothesis import strategies as st

from statuspage.transports import DeliveryError
from statuspage.transports.smtp import SMTPTransport, dot_stuff
from tests.support.certs import make_ca, make_cert
from tests.support.smtp import SMTPServer, free_port

MESSAGE = (b"From: status@acme.example\r\nTo: ana@example.test\r\nSubject: Elevated errors\r\n\r\n"
           b"We are investigating.\r\n.\r\n..two dots\r\n.leading dot\r\nend\r\n")


class _Keep:
    def __init__(self):
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"mailer" and auth_data.password == b"s3cret"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting the test CA)."""
    directory: Path = tmp_path_factory.mktemp("smtp-certs")
    ca = make_ca(directory / "ca")
    leaf = make_cert(directory / "leaf", ca=ca)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(leaf.cert_path, leaf.key_path)
    client = ssl.create_default_context(cafile=str(ca.cert_path))
    return server, client


def _controller(handler, **options) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


def test_starttls_with_auth_delivers_and_bad_credentials_keep_the_message_pending(tls):
    server_ctx, client_ctx = tls
    handler = _Keep()
    controller = _controller(handler, tls_context=server_ctx, require_starttls=True,
                             authenticator=_authenticator, auth_required=True, auth_require_tls=True)
    try:
        good = SMTPTransport(host="localhost", port=controller.port, tls="starttls", user="mailer",
                             password="s3cret", ssl_context=client_ctx)
        good.send("status@acme.example", "ana@example.test", MESSAGE)
        good.send("status@acme.example", "bo@example.test", MESSAGE)
        good.close()
        assert [(r[0], r[1]) for r in handler.received] == [
            ("status@acme.example", ["ana@example.test"]), ("status@acme.example", ["bo@example.test"])]
        assert handler.received[0][2].replace(b"\r\n", b"\n") == MESSAGE.replace(b"\r\n", b"\n")

        bad = SMTPTransport(host="localhost", port=controller.port, tls="starttls", user="mailer",
                            password="wrong", ssl_context=client_ctx, timeout=5)
        with pytest.raises(DeliveryError) as err:
            bad.send("status@acme.example", "ana@example.test", MESSAGE)
        assert "authentication failed" in str(err.value) and not err.value.permanent

        # Without STARTTLS the server refuses before any mail changes hands.
        plain = SMTPTransport(host="localhost", port=controller.port, tls="none", timeout=5)
        with pytest.raises(DeliveryError) as err:
            plain.send("status@acme.example", "ana@example.test", MESSAGE)
        assert err.value.code == 530
        assert len(handler.received) == 2
    finally:
        controller.stop()


def test_implicit_tls_delivers_and_an_untrusted_certificate_is_refused(tls):
    server_ctx, client_ctx = tls
    handler = _Keep()
    controller = _controller(handler, ssl_context=server_ctx)
    try:
        transport = SMTPTransport(host="localhost", port=controller.port, tls="ssl", ssl_context=client_ctx)
        transport.send("status@acme.example", "ana@example.test", MESSAGE)
        transport.close()
        assert len(handler.received) == 1

        # The system trust store does not know the test CA: no mail goes to an unverified server.
        untrusting = SMTPTransport(host="localhost", port=controller.port, tls="ssl")
        with pytest.raises(DeliveryError) as err:
            untrusting.send("status@acme.example", "ana@example.test", MESSAGE)
        assert err.value.connection_lost and not err.value.permanent
        assert "certificate" in str(err.value).lower()
        assert len(handler.received) == 1
    finally:
        controller.stop()


def test_refusals_are_classified_and_the_session_carries_on():
    server = SMTPServer().start()
    try:
        transport = SMTPTransport(host="127.0.0.1", port=server.port)
        server.rcpt_reply = "550 No such user"
        with pytest.raises(DeliveryError) as err:
            transport.send("status@acme.example", "gone@example.test", MESSAGE)
        assert err.value.permanent and err.value.code == 550 and "No such user" in str(err.value)

        server.rcpt_reply = "451 Try again later"
        with pytest.raises(DeliveryError) as err:
            transport.send("status@acme.example", "busy@example.test", MESSAGE)
        assert not err.value.permanent and err.value.code == 451 and not err.value.connection_lost

        server.rcpt_reply = None
        server.data_reply = "554 Rejected as spam"
        with pytest.raises(DeliveryError) as err:
            transport.send("status@acme.example", "ana@example.test", MESSAGE)
        assert err.value.permanent and err.value.code == 554

        # After the refusals (each followed by RSET) the same session delivers the next message.
        server.data_reply = None
        transport.send("status@acme.example", "ana@example.test", MESSAGE)
        assert [m.rcpt_tos for m in server.messages] == [["ana@example.test"]]
        assert len(server.connections_seen) == 1
        transport.close()
    finally:
        server.stop()


def test_size_is_announced_and_too_big_mail_is_refused_up_front():
    handler = _Keep()
    controller = _controller(handler, data_size_limit=2000)
    try:
        transport = SMTPTransport(host="127.0.0.1", port=controller.port)
        transport.send("status@acme.example", "ana@example.test", MESSAGE)
        with pytest.raises(DeliveryError) as err:
            transport.send("status@acme.example", "ana@example.test", MESSAGE + b"x" * 5000 + b"\r\n")
        assert err.value.permanent and err.value.code == 552
        transport.send("status@acme.example", "bo@example.test", MESSAGE)
        assert [r[1] for r in handler.received] == [["ana@example.test"], ["bo@example.test"]]
    finally:
        controller.stop()


def test_a_dropped_session_is_reported_then_reopened():
    server = SMTPServer().start()
    transport = SMTPTransport(host="127.0.0.1", port=server.port, timeout=5)
    transport.send("status@acme.example", "ana@example.test", MESSAGE)
    port = server.port
    server.stop()  # the server goes away under an open session
    with pytest.raises(DeliveryError) as err:
        transport.send("status@acme.example", "bo@example.test", MESSAGE)
    assert err.value.connection_lost and not err.value.permanent

    again = SMTPServer()
    again.port = port
    again.controller = Controller(again.controller.handler, hostname="127.0.0.1", port=port)
    again.start()
    try:
        transport.send("status@acme.example", "bo@example.test", MESSAGE)
        assert [m.rcpt_tos for m in again.messages] == [["bo@example.test"]]
    finally:
        transport.close()
        again.stop()


@given(st.lists(st.sampled_from([b".", b"..", b"x", b"\r\n", b"\n", b" ", b".\r\n"]), max_size=30).map(b"".join))
def test_dot_stuffing_is_what_smtplib_sends(message):
    expected = re.sub(rb"(?m)^\.", b"..", message)
    if expected[-2:] != b"\r\n":
        expected += b"\r\n"
    assert dot_stuff(message) == expected + b".\r\n"


def test_smtplib_still_has_the_quoting_we_mirror():
    # dot_stuff mirrors smtplib's own rule; if that rule ever changes, this says so.
    assert smtplib._quote_periods(b".a\r\n.b") == b"..a\r\n..b"
