"""The time budget of one probe, and what the probe was doing when it ran out.

A probe runs inside ``asyncio.timeout``: when the budget is spent the event
loop cancels it wherever it waits (name lookup, connect, TLS handshake,
reading), so no single step and no dripping peer can outlast it. What is left
to say is *what* timed out, for the message an operator reads: each step sets
:attr:`Deadline.phase` (and :attr:`Deadline.peer` once an address is known).

The deadline of the probe running in the current task is available through
:func:`current_deadline`, so code that the probe does not call directly (the
host resolver plugged into aiohttp) can bound its own work by it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["Deadline", "current_deadline"]

_current: ContextVar[Deadline | None] = ContextVar("checks_probe_deadline", default=None)


class Deadline:
    """A total time budget of ``seconds``, started at construction."""

    __slots__ = ("at", "cert_der", "ip", "peer", "phase", "seconds", "started")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.at = self.started + seconds
        self.phase = "start"  # dns | connect | tls | request | read: what the probe waits for
        self.peer: str | None = None  # "ip:port" (or "host:port") being connected to
        # Facts noted when the connection opened (see checks.probes.session): the peer's IP and certificate.
        self.ip: str | None = None
        self.cert_der: bytes | None = None

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    def elapsed_ms(self) -> float:
        """Milliseconds since the deadline started."""
        return (time.monotonic() - self.started) * 1000.0

    @contextmanager
    def active(self) -> Iterator[Deadline]:
        """Make this the deadline that :func:`current_deadline` returns in this task."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)


def current_deadline() -> Deadline | None:
    """The deadline of the probe running in this task, if any."""
    return _current.get()
