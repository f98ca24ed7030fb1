"""TCP connection set-up shared by the tcp and tls probes."""

from __future__ import annotations

import socket

from checks.deadline import Deadline

__all__ = ["ProbeError", "connect"]


class ProbeError(Exception):
    """A classified probe failure: ``error_class`` plus a human message."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message


def connect(host: str, port: int, deadline: Deadline, timeout_s: float) -> tuple[socket.socket, str]:
    """Resolve ``host`` and connect to the first address that answers; return ``(socket, ip)``.

    The socket is registered with ``deadline`` (so the watchdog can cut any
    later read) and has a timeout of what is left of it. Raises
    :class:`ProbeError` with class ``dns``, ``refused``, ``timeout`` or ``connection``.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ProbeError("dns", f"cannot resolve host {host!r} ({exc.strerror})") from None
    except UnicodeError:
        raise ProbeError("dns", f"invalid host name {host!r}") from None
    last: ProbeError | None = None
    for family, socktype, proto, _, address in infos:
        if deadline.remaining() <= 0:
            break
        sock = socket.socket(family, socktype, proto)
        deadline.register(sock)
        sock.settimeout(deadline.timeout())
        try:
            sock.connect(address)
        except ConnectionRefusedError:
            sock.close()
            last = ProbeError("refused", f"connection refused by {address[0]}:{port}")
            continue
        except TimeoutError:
            sock.close()
            last = ProbeError("timeout", f"connect timeout after {timeout_s:g}s to {address[0]}:{port}")
            continue
        except OSError as exc:
            sock.close()
            last = ProbeError("connection", f"cannot connect to {address[0]}:{port}: {exc.strerror or exc}")
            continue
        return sock, str(address[0])
    raise last or ProbeError("timeout", f"connect timeout after {timeout_s:g}s to {host}:{port}")
