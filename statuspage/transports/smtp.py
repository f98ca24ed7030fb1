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
        if self._conn is None:
            self.open()
        assert self._conn is not None
        try:
            refused = self._conn.sendmail(sender, [recipient], message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise DeliveryError(f"{code} {_text(text)}", permanent=code >= 500, code=code) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise DeliveryError(f"{exc.smtp_code} {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500,
                                code=exc.smtp_code) from None
        except smtplib.SMTPServerDisconnected as exc:
            self._drop()
            raise DeliveryError(f"SMTP connection lost: {exc}", permanent=False, connection_lost=True) from None
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise DeliveryError(f"{exc.smtp_code} {_text(exc.smtp_error)}", permanent=False,
                                code=exc.smtp_code, connection_lost=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise DeliveryError(f"SMTP error: {_describe(exc)}", permanent=False, connection_lost=True) from None
        if refused:  # only possible with several recipients; kept for completeness
            code, text = next(iter(refused.values()))
            raise DeliveryError(f"{code} {_text(text)}", permanent=code >= 500, code=code)

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


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
