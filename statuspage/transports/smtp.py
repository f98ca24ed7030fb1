"""SMTP: one connection per batch, STARTTLS or implicit TLS, optional AUTH; replies mapped to
transient (4xx, connection trouble) or permanent (5xx) ``DeliveryError``."""

from __future__ import annotations

import smtplib
import socket
import ssl

from . import DeliveryError


class SMTPTransport:
    def __init__(self, *, host: str, port: int, tls: str = "none", user: str | None = None,
                 password: str | None = None, timeout: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None):
        self.host, self.port, self.tls = host, port, tls
        self.user, self.password, self.timeout = user, password, timeout
        self.ssl_context = ssl_context
        self._conn: smtplib.SMTP | None = None
        self._size = False  # the server takes SIZE= on MAIL (it refuses too-big mail up front)

    def _context(self) -> ssl.SSLContext:
        if self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        return self.ssl_context

    def open(self) -> None:
        if self._conn is not None:
            return
        try:
            if self.tls == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                                      context=self._context())
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            conn.ehlo()
            if self.tls == "starttls":
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.user:
                conn.login(self.user, self.password or "")
            self._size = conn.has_extn("size")
        except smtplib.SMTPAuthenticationError as exc:
            # Wrong credentials: retrying soon will not help, but the message itself is fine; keep it
            # pending (transient) so fixing the configuration delivers everything.
            raise DeliveryError(f"SMTP authentication failed: {exc.smtp_code} {_text(exc.smtp_error)}",
                                permanent=False, code=exc.smtp_code, connection_lost=True) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP server refused the session: {exc.smtp_code} {_text(exc.smtp_error)}",
                                permanent=False, code=exc.smtp_code, connection_lost=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot connect to SMTP {self.host}:{self.port}: {_describe(exc)}",
                                permanent=False, connection_lost=True) from None
        self._conn = conn

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        """One SMTP transaction: MAIL, RCPT, DATA over the open session.

        Written out instead of ``smtplib.SMTP.sendmail``: our addresses are checked ASCII already and
        the message is CRLF bytes, so the per-message address parsing, option negotiation and regex
        dot-stuffing of ``sendmail`` are skipped — in a fan-out that was a third of this thread's CPU.
        """
        if self._conn is None:
            self.open()
        conn = self._conn
        assert conn is not None
        try:
            options = f" SIZE={len(message)}" if self._size else ""
            self._expect(conn, "mail", f"FROM:<{sender}>{options}", 250)
            self._expect(conn, "rcpt", f"TO:<{recipient}>", 250, 251)
            self._expect(conn, "data", "", 354)
            conn.send(dot_stuff(message))
            code, text = conn.getreply()
            if code != 250:
                self._refused(conn, code, text)
        except DeliveryError:
            raise
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise DeliveryError(f"SMTP connection lost: {exc}", permanent=False, connection_lost=True) from None
        except UnicodeEncodeError:
            # Not reachable through our address checks; refused rather than half-sent if it ever is.
            self._reset(conn)
            raise DeliveryError("address is not ASCII", permanent=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise DeliveryError(f"SMTP error: {_describe(exc)}", permanent=False, connection_lost=True) from None

    def _expect(self, conn: smtplib.SMTP, verb: str, args: str, *ok: int) -> None:
        conn.putcmd(verb, args)
        code, text = conn.getreply()
        if code not in ok:
            self._refused(conn, code, text)

    def _refused(self, conn: smtplib.SMTP, code: int, text: bytes) -> None:
        """The server said no: 4xx transient, 5xx permanent; 421 (or nonsense) also ends the session."""
        if code == 421 or not 400 <= code < 600:
            self._drop()
            raise DeliveryError(f"{code} {_text(text)}", permanent=False, code=code, connection_lost=True)
        self._reset(conn)
        raise DeliveryError(f"{code} {_text(text)}", permanent=code >= 500, code=code)

    def _reset(self, conn: smtplib.SMTP) -> None:
        """RSET after a refusal so the next transaction starts clean; a session that cannot is dropped."""
        try:
            code, _text_ = conn.rset()
        except (OSError, smtplib.SMTPException):
            code = 0
        if code != 250:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            try:
                conn.close()
            except OSError:
                pass


def dot_stuff(message: bytes) -> bytes:
    """The DATA payload: a dot doubled at the start of every line (RFC 5321 4.5.2), ended by CRLF.CRLF.

    The same as smtplib's ``re.sub(br'(?m)^\\.', b'..', …)`` — the start and every byte after a LF —
    with two C-level byte operations instead of a regex over the whole message.
    """
    if message.startswith(b"."):
        message = b"." + message
    message = message.replace(b"\n.", b"\n..")
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message + b".\r\n"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
