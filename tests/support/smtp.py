"""A real SMTP server (aiosmtpd) on 127.0.0.1 that captures messages and can be told to fail."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol  # noqa: N811


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Captured:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: email.message.EmailMessage = field(repr=False)


class _Handler:
    def __init__(self, server: SMTPServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        code = self.server.rcpt_reply
        if code is not None:
            return code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.server.data_reply is not None:
            return self.server.data_reply
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(Captured(envelope.mail_from, list(envelope.rcpt_tos),
                                                 envelope.content, msg))
            self.server.connections_seen.add(id(session))
        return "250 Message accepted"


class SMTPServer:
    """Start with ``.start()``; ``messages`` holds what arrived. Set ``rcpt_reply``/``data_reply``
    (e.g. "550 No such user" or "451 Try later") to make it refuse."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Captured] = []
        self.lock = threading.Lock()
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.connections_seen: set[int] = set()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     data_size_limit=10 * 1024 * 1024)

    def start(self) -> SMTPServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Captured]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        with self.lock:
            return list(self.messages)

    def to(self, address: str) -> list[Captured]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]


__all__ = ["SMTPServer", "SMTPProtocol", "Captured", "free_port"]
