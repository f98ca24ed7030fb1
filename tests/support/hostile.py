"""Hostile targets on 127.0.0.1, served by a separate process so they never share the test's CPU or GIL.

    with HostileTargets() as targets:
        targets.ports["tarpit"]   # accepts, reads, never answers
        ...

Targets (each a port on 127.0.0.1):

* ``healthy``  — HTTP 200 ``ok`` at once, ``Connection: close``
* ``tarpit``   — accepts the connection, reads, never answers
* ``drip``     — answers HTTP headers, then the body one byte a second
* ``huge``     — a 50 MB body, written as fast as the client reads it
* ``loop``     — ``/a`` redirects to ``/b`` and ``/b`` to ``/a``
* ``tls_stall`` — accepts TCP and never answers the TLS ClientHello
* ``backlog``  — a listening socket that never accepts, its backlog already full: connects hang
* ``dns``      — a UDP port that swallows DNS queries and never answers

Run as ``python -m tests.support.hostile``: prints the ports as one JSON line, serves
until its standard input closes (so it never outlives the test that started it).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["HostileTargets"]

ROOT = Path(__file__).resolve().parents[2]
HUGE_BYTES = 50 * 1024 * 1024
_CHUNK = b"x" * 65536


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return b""


async def _healthy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if await _read_head(reader):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await _drain_and_close(writer)


async def _tarpit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    writer.close()


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if not await _read_head(reader):
        return
    try:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 600\r\nConnection: close\r\n\r\n")
        for _ in range(600):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(1.0)
    except ConnectionError:
        pass
    writer.close()


async def _huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if not await _read_head(reader):
        return
    try:
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {HUGE_BYTES}\r\nConnection: close\r\n\r\n".encode())
        sent = 0
        while sent < HUGE_BYTES:
            writer.write(_CHUNK)
            sent += len(_CHUNK)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def _loop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await _read_head(reader)
    if not head:
        return
    path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
    target = b"/a" if path == b"/b" else b"/b"
    writer.write(b"HTTP/1.1 302 Found\r\nLocation: " + target + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await _drain_and_close(writer)


async def _drain_and_close(writer: asyncio.StreamWriter) -> None:
    try:
        await writer.drain()
    except ConnectionError:
        pass
    writer.close()


class _Swallow(asyncio.DatagramProtocol):
    """Receives DNS queries and answers none."""

    def datagram_received(self, data: bytes, addr: Any) -> None:
        pass


def _full_backlog() -> tuple[socket.socket, list[socket.socket]]:
    """A listener that never accepts, with its backlog filled so that further connects hang."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(8):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(listener.getsockname())
        except BlockingIOError:
            pass
        fillers.append(sock)
    return listener, fillers


def _quietly(handler: Any) -> Any:
    """Run a connection handler; a client that leaves or a server that stops ends it without a traceback."""

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (asyncio.CancelledError, ConnectionError):
            writer.transport.abort()

    return run


async def _serve() -> None:
    handlers = {
        "healthy": _healthy,
        "tarpit": _tarpit,
        "drip": _drip,
        "huge": _huge,
        "loop": _loop,
        "tls_stall": _tarpit,
    }
    ports: dict[str, int] = {}
    servers = []
    for name, handler in handlers.items():
        server = await asyncio.start_server(_quietly(handler), "127.0.0.1", 0, backlog=4096)
        servers.append(server)
        ports[name] = server.sockets[0].getsockname()[1]
    listener, fillers = _full_backlog()
    ports["backlog"] = listener.getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Swallow, local_addr=("127.0.0.1", 0))
    ports["dns"] = transport.get_extra_info("sockname")[1]
    print(json.dumps(ports), flush=True)
    # Serve until the parent closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    for server in servers:
        server.close()
    transport.close()
    for sock in [listener, *fillers]:
        sock.close()


class HostileTargets:
    """Starts the hostile target process; ``ports`` maps target name to port."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.hostile"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.kill()
            raise RuntimeError("the hostile target process did not start")
        self.ports: dict[str, int] = json.loads(line)

    def url(self, name: str, path: str = "/") -> str:
        """``http://127.0.0.1:PORT/path`` of target ``name``."""
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def stop(self) -> None:
        """Stop the process (closing its standard input; killed if it does not exit)."""
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> HostileTargets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    asyncio.run(_serve())
