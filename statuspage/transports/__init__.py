"""Delivery channels behind one small interface: smtp, file drop (embedded default), webhook.

Each transport raises only ``DeliveryError``; ``permanent`` says whether retrying can help
(a 550 "no such user" cannot; a refused connection or a 451 can).
"""

from __future__ import annotations

from typing import Protocol


class DeliveryError(Exception):
    """A message could not be delivered. ``permanent`` decides retry versus fail-and-count-a-bounce."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None,
                 connection_lost: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        # The session is gone: the caller must reopen before the next message.
        self.connection_lost = connection_lost


class MailTransport(Protocol):
    """Sends prebuilt RFC 5322 bytes; one session (``open``…``close``) is reused for a whole batch."""

    def open(self) -> None: ...

    def send(self, sender: str, recipient: str, message: bytes) -> None: ...

    def close(self) -> None: ...


def mail_transport_for(settings) -> MailTransport:
    """SMTP when a host is configured, else ``.eml`` files in ``settings.mail_dir``."""
    if settings.smtp_host:
        from .smtp import SMTPTransport

        return SMTPTransport(host=settings.smtp_host, port=settings.smtp_port, tls=settings.smtp_tls,
                             user=settings.smtp_user, password=settings.smtp_password,
                             timeout=settings.smtp_timeout)
    from .filedrop import FileDropTransport

    return FileDropTransport(settings.mail_dir)


__all__ = ["DeliveryError", "MailTransport", "mail_transport_for"]
