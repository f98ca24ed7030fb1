"""A runner with a source address connects FROM that address: real servers on 127.0.0.1 see the peer.

Linux answers on the whole of 127.0.0.0/8, so 127.0.0.2 and 127.0.0.3 are local addresses a
probe can bind to without any set-up. Probes run on :class:`checks.runner.Runner` (its own loop
thread): no ``asyncio.run`` in tests, since another test may have left a loop running here.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dns.message
import dns.rrset
import pytest

from checks.runner import Runner
from tests.checks.conftest import spec


class _PeerHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    peers: list[str]


class _PeerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _PeerHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.peers.append(self.client_address[0])
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def http_server() -> Iterator[_PeerHTTPServer]:
    server = _PeerHTTPServer(("127.0.0.1", 0), _PeerHandler)
    server.peers = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class _PeerTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    peers: list[str]


class _PeerTCPHandler(socketserver.BaseRequestHandler):
    server: _PeerTCPServer

    def handle(self) -> None:
        self.server.peers.append(self.client_address[0])
        self.request.sendall(b"hello\n")


@pytest.fixture
def tcp_server() -> Iterator[_PeerTCPServer]:
    server = _PeerTCPServer(("127.0.0.1", 0), _PeerTCPHandler)
    server.peers = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


class _DnsServer:
    """Answers every A query with 192.0.2.1 over UDP and records who asked."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.peers: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.peers.append(peer[0])
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            response.answer.append(dns.rrset.from_text(query.question[0].name, 60, "IN", "A", "192.0.2.1"))
            self.sock.sendto(response.to_wire(), peer)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def dns_server() -> Iterator[_DnsServer]:
    server = _DnsServer()
    yield server
    server.stop()


@pytest.mark.parametrize("source", ["127.0.0.2", "127.0.0.3"])
def test_http_probe_connects_from_the_source_address(http_server: _PeerHTTPServer, source: str) -> None:
    url = f"http://127.0.0.1:{http_server.server_address[1]}/health"
    with Runner(max_in_flight=4, source_address=source) as runner:
        results = runner.run([spec(kind="http", url=url, timeout="5s")])
    assert results[0].outcome == "up", results[0].message
    assert http_server.peers == [source]


def test_http_probe_by_host_name_connects_from_the_source_address(http_server: _PeerHTTPServer) -> None:
    # localhost resolves to 127.0.0.1 and ::1: only the address of the source's family is tried.
    url = f"http://localhost:{http_server.server_address[1]}/"
    with Runner(max_in_flight=4, source_address="127.0.0.2") as runner:
        results = runner.run([spec(kind="http", url=url, timeout="5s")])
    assert results[0].outcome == "up", results[0].message
    assert http_server.peers == ["127.0.0.2"]


@pytest.mark.parametrize("source", ["127.0.0.2", "127.0.0.3"])
def test_tcp_probe_connects_from_the_source_address(tcp_server: _PeerTCPServer, source: str) -> None:
    port = tcp_server.server_address[1]
    with Runner(max_in_flight=4, source_address=source) as runner:
        results = runner.run([spec(kind="tcp", host="127.0.0.1", port=port, expect="hello", timeout="5s")])
    assert results[0].outcome == "up", results[0].message
    assert tcp_server.peers == [source]


def test_dns_probe_queries_from_the_source_address(dns_server: _DnsServer) -> None:
    check = spec(kind="dns", host="example.test", nameserver=f"127.0.0.1:{dns_server.port}", timeout="5s")
    with Runner(max_in_flight=4, source_address="127.0.0.3") as runner:
        results = runner.run([check])
    assert results[0].outcome == "up", results[0].message
    assert dns_server.peers == ["127.0.0.3"]


def test_without_a_source_address_the_kernel_picks_it(http_server: _PeerHTTPServer, tcp_server: _PeerTCPServer):
    with Runner(max_in_flight=4) as runner:
        results = runner.run([
            spec(kind="http", url=f"http://127.0.0.1:{http_server.server_address[1]}/", timeout="5s"),
            spec(kind="tcp", host="127.0.0.1", port=tcp_server.server_address[1], timeout="5s"),
        ])
    assert [r.outcome for r in results] == ["up", "up"]
    deadline = time.monotonic() + 10  # the TCP probe may be done before the server's handler thread ran
    while not tcp_server.peers and time.monotonic() < deadline:
        time.sleep(0.01)
    assert http_server.peers == ["127.0.0.1"] and tcp_server.peers == ["127.0.0.1"]


def test_a_source_address_that_is_not_an_ip_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        Runner(max_in_flight=1, source_address="eth0")


def test_a_source_address_of_the_other_family_fails_the_probe_clearly(tcp_server: _PeerTCPServer) -> None:
    check = spec(kind="tcp", host="127.0.0.1", port=tcp_server.server_address[1], timeout="5s")
    with Runner(max_in_flight=1, source_address="::1") as runner:
        result = runner.run([check])[0]
    assert result.outcome == "down"
    assert "no IPv6 address" in result.message
    assert tcp_server.peers == []
