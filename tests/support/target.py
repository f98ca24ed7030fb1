"""Real servers on 127.0.0.1 for probe tests: an HTTP(S) target, a TCP target and a free port.

``TargetServer`` is a threaded HTTP server whose behaviour a test sets per
path (or for every path with ``"*"``): status, headers, body, a delay, a hang,
a slow drip, a huge streamed body, redirects. With ``tls=CertFiles`` it speaks
HTTPS with a certificate made in the test (see ``tests.support.certs``)::

    with TargetServer() as target:
        target.set("/health", status=503, body="down")
        requests.get(target.url + "/health")
        assert target.hits("/health") == 1
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.certs import CertFiles

__all__ = ["Behaviour", "TargetServer", "TcpTarget", "free_port"]

_HANG_LIMIT_S = 30.0  # a hanging handler gives up after this, so no thread outlives a test run by long


@dataclass
class Behaviour:
    """How the target answers one path."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the response starts
    hang: bool = False  # accept the request, never answer
    drip: float | None = None  # seconds between single body bytes
    size: int | None = None  # stream this many bytes instead of ``body``
    redirect: str | None = None  # answer 302 to this location
    gather: threading.Barrier | None = None  # answer only once this many requests are open at once (else 503)


@dataclass
class SeenRequest:
    """One request the target received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer: str = ""  # the client's address (a probe with a source address shows it here)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops SYNs under a burst of probes
    allow_reuse_address = True
    target: TargetServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that give up (that is what probes do) are expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def _serve(self) -> None:
        target = self.server.target
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        behaviour = target._record(SeenRequest(self.command, path, dict(self.headers), body, self.client_address[0]))
        stop = target._stopping
        if behaviour.hang:
            stop.wait(_HANG_LIMIT_S)
            return
        if behaviour.delay and stop.wait(behaviour.delay):
            return
        status = 302 if behaviour.redirect else behaviour.status
        if behaviour.gather is not None:
            try:
                behaviour.gather.wait()
            except threading.BrokenBarrierError:
                status = 503
        payload = behaviour.body
        total = behaviour.size if behaviour.size is not None else len(payload)
        self.send_response(status)
        headers = {"Content-Type": "text/plain", **behaviour.headers}
        if behaviour.redirect:
            headers["Location"] = behaviour.redirect
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(total))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        try:
            if behaviour.drip is not None:
                source = payload if behaviour.size is None else b"x" * total
                for i in range(total):
                    self.wfile.write(source[i : i + 1])
                    self.wfile.flush()
                    if stop.wait(behaviour.drip):
                        return
            elif behaviour.size is not None:
                chunk = b"x" * 65536
                sent = 0
                while sent < total and not stop.is_set():
                    part = chunk[: min(len(chunk), total - sent)]
                    self.wfile.write(part)
                    sent += len(part)
            else:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass  # the probe stopped reading, as it should

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve


class TargetServer:
    """A real HTTP (or HTTPS, with ``tls``) server on 127.0.0.1 and a free port."""

    def __init__(self, *, tls: CertFiles | None = None) -> None:
        self._lock = threading.Lock()
        self._behaviours: dict[str, Behaviour] = {}
        self._failing: dict[str, Behaviour] = {}  # client address → how it is answered, whatever the path
        self._requests: list[SeenRequest] = []
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.target = self
        self.tls = tls
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert_path, tls.key_path)
            # Handshake in the handler thread, so a stalled client cannot block accept().
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self.host = "127.0.0.1"
        self.port: int = self._server.server_address[1]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def set(
        self,
        path: str,
        *,
        status: int = 200,
        body: bytes | str = b"ok",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        hang: bool = False,
        drip: float | None = None,
        size: int | None = None,
        redirect: str | None = None,
        gather: int | None = None,
        gather_timeout: float = 5.0,
    ) -> str:
        """Set how ``path`` answers (``"*"`` for every path not set); return its full URL.

        ``gather=n``: every request waits until ``n`` requests are open at once, then all
        are answered; if that does not happen within ``gather_timeout`` they get 503.
        """
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._behaviours[path] = Behaviour(
                status=status, body=data, headers=dict(headers or {}), delay=delay, hang=hang,
                drip=drip, size=size, redirect=redirect,
                gather=threading.Barrier(gather, timeout=gather_timeout) if gather else None,
            )
        return self.url + path if path != "*" else self.url

    def hits(self, path: str) -> int:
        """How many requests reached ``path``."""
        with self._lock:
            return sum(1 for r in self._requests if r.path == path)

    def requests(self, path: str | None = None) -> list[SeenRequest]:
        """The requests received (for ``path`` only, if given)."""
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def fail_for(self, peers, *, status: int = 503, body: bytes | str = b"region down") -> None:
        """Answer every request from these client addresses with ``status`` (a regional failure); the
        others as set. ``fail_for([])`` ends it."""
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._failing = {peer: Behaviour(status=status, body=data) for peer in peers}

    def peers(self) -> list[str]:
        """The client address of every request, in order."""
        with self._lock:
            return [r.peer for r in self._requests]

    def _record(self, request: SeenRequest) -> Behaviour:
        with self._lock:
            self._requests.append(request)
            return (self._failing.get(request.peer) or self._behaviours.get(request.path)
                    or self._behaviours.get("*") or Behaviour())

    def stop(self) -> None:
        """Stop serving; hanging and dripping handlers return at once."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TargetServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _TcpHandler(socketserver.BaseRequestHandler):
    server: _TcpServer

    def handle(self) -> None:
        target = self.server.target
        sock: socket.socket = self.request
        stop = target._stopping
        with self.server.lock:
            self.server.connections += 1
            self.server.peers.append(self.client_address[0])
        try:
            if target.silent:
                stop.wait(_HANG_LIMIT_S)
                return
            if target.banner:
                self._send(target.banner, target.drip, stop)
            if target.reply is None:
                stop.wait(0.2) if target.banner else None
                return
            sock.settimeout(_HANG_LIMIT_S)
            data = sock.recv(65536)
            with self.server.lock:
                self.server.received.append(data)
            self._send(target.reply, target.drip, stop)
        except OSError:
            pass

    def _send(self, data: bytes, drip: float | None, stop: threading.Event) -> None:
        if drip is None:
            self.request.sendall(data)
            return
        for i in range(len(data)):
            self.request.sendall(data[i : i + 1])
            if stop.wait(drip):
                return


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True
    target: TcpTarget

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class TcpTarget:
    """A TCP server on 127.0.0.1: optional banner on connect, a reply to the first data, drip or silence."""

    def __init__(
        self,
        *,
        banner: bytes | None = None,
        reply: bytes | None = None,
        drip: float | None = None,
        silent: bool = False,
    ) -> None:
        self.banner, self.reply, self.drip, self.silent = banner, reply, drip, silent
        self._stopping = threading.Event()
        self._server = _TcpServer(("127.0.0.1", 0), _TcpHandler)
        self._server.target = self
        self._server.lock = threading.Lock()  # type: ignore[attr-defined]
        self._server.received = []  # type: ignore[attr-defined]
        self._server.connections = 0  # type: ignore[attr-defined]
        self._server.peers = []  # type: ignore[attr-defined]
        self.host = "127.0.0.1"
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def received(self) -> list[bytes]:
        """The first chunk of data each connection sent."""
        return list(self._server.received)  # type: ignore[attr-defined]

    @property
    def peers(self) -> list[str]:
        """The client address of every connection, in order."""
        return list(self._server.peers)  # type: ignore[attr-defined]

    @property
    def connections(self) -> int:
        """How many connections were accepted."""
        return int(self._server.connections)  # type: ignore[attr-defined]

    def stop(self) -> None:
        """Stop serving."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TcpTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connecting to it is refused)."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes; return its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())
