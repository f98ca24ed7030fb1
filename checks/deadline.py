"""Hard total deadlines for blocking socket work.

Socket timeouts bound each single ``recv``; they do not bound a peer that
sends one byte just before every timeout. A :class:`Deadline` bounds the whole
probe: one watchdog thread shuts down every socket registered with a deadline
when it passes, which wakes any blocked ``recv``/``send`` at once. Sockets are
registered by the code that creates them (see ``checks.probes.http``) through
:func:`current_deadline`, a per-thread value set while the deadline is active.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from types import TracebackType

__all__ = ["Deadline", "DeadlineExceeded", "current_deadline"]

_local = threading.local()


class DeadlineExceeded(Exception):
    """Raised by :meth:`Deadline.check` once the deadline has passed."""


class Deadline:
    """A total time budget; use as a context manager around one probe."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.at = self.started + seconds
        self.expired = False
        self._done = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._previous: Deadline | None = None

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    def elapsed_ms(self) -> float:
        """Milliseconds since the deadline started."""
        return (time.monotonic() - self.started) * 1000.0

    def timeout(self, cap: float | None = None) -> float:
        """A socket timeout for the next operation: what is left, at most ``cap``, at least 1 ms."""
        left = self.remaining()
        if cap is not None:
            left = min(left, cap)
        return max(left, 0.001)

    def check(self) -> None:
        """Raise :class:`DeadlineExceeded` if the deadline has passed."""
        if self.expired or time.monotonic() >= self.at:
            self.expired = True
            raise DeadlineExceeded(f"total deadline of {self.seconds:g}s exceeded")

    def register(self, sock: socket.socket) -> None:
        """Have ``sock`` shut down when the deadline passes (at once if it already has).

        A duplicate descriptor is kept: wrapping a socket in TLS detaches the
        original object, but ``shutdown`` on any descriptor of a socket stops
        the connection for all of them.
        """
        with self._lock:
            if self._done:
                return
            if self.expired:
                _shutdown(sock)
                return
            try:
                self._sockets.append(sock.dup())
            except OSError:
                pass  # already closed: nothing left to cut

    def fire(self) -> None:
        """Mark the deadline expired and shut down its sockets (called by the watchdog)."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def __enter__(self) -> Deadline:
        self._previous = getattr(_local, "deadline", None)
        _local.deadline = self
        _watchdog.add(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._done = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            sock.close()
        _local.deadline = self._previous


def current_deadline() -> Deadline | None:
    """The deadline active in this thread, if any."""
    return getattr(_local, "deadline", None)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected yet, or already closed: nothing to wake


class _Watchdog:
    """One daemon thread that fires deadlines in time order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.at, next(self._counter), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="checks-deadline-watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                at, _, deadline = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if not deadline._done:
                deadline.fire()


_watchdog = _Watchdog()
