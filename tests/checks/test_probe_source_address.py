"""A runner with a source address connects FROM that address: real servers on 127.0.0.1 see the peer.

Linux answers on the whole of 127.0.0.0/8, so 127.0.0.2 and 127.0.0.3 are local addresses a
probe can bind to without any set-up. Probes run on :class:`checks.runner.Runner` (its own loop
thread): no ``asyncio.run`` in tests, since another test may have left a loop running here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from checks.runner import Runner
from tests.checks.conftest import spec
from tests.support.dns_server import DnsServer
from tests.support.target import TargetServer, TcpTarget


@pytest.fixture
def http_server() -> Iterator[TargetServer]:
    with TargetServer() as server:
        yield server


@pytest.fixture
def tcp_server() -> Iterator[TcpTarget]:
    server = TcpTarget(banner=b"hello\n")
    yield server
    server.stop()


@pytest.fixture
def dns_server() -> Iterator[DnsServer]:
    with DnsServer({("example.test", "A"): ["192.0.2.1"]}) as server:
        yield server


@pytest.mark.parametrize("source", ["127.0.0.2", "127.0.0.3"])
def test_http_probe_connects_from_the_source_address(http_server: TargetServer, source: str) -> None:
    url = f"{http_server.url}/health"
    with Runner(max_in_flight=4, source_address=source) as runner:
        results = runner.run([spec(kind="http", url=url, timeout="5s")])
    assert results[0].outcome == "up", results[0].message
    assert http_server.peers() == [source]


def test_http_probe_by_host_name_connects_from_the_source_address(http_server: TargetServer) -> None:
    # localhost resolves to 127.0.0.1 and ::1: only the address of the source's family is tried.
    url = f"http://localhost:{http_server.port}/"
    with Runner(max_in_flight=4, source_address="127.0.0.2") as runner:
        results = runner.run([spec(kind="http", url=url, timeout="5s")])
    assert results[0].outcome == "up", results[0].message
    assert http_server.peers() == ["127.0.0.2"]


@pytest.mark.parametrize("source", ["127.0.0.2", "127.0.0.3"])
def test_tcp_probe_connects_from_the_source_address(tcp_server: TcpTarget, source: str) -> None:
    port = tcp_server.port
    with Runner(max_in_flight=4, source_address=source) as runner:
        results = runner.run([spec(kind="tcp", host="127.0.0.1", port=port, expect="hello", timeout="5s")])
    assert results[0].outcome == "up", results[0].message
    assert tcp_server.peers == [source]


def test_dns_probe_queries_from_the_source_address(dns_server: DnsServer) -> None:
    check = spec(kind="dns", host="example.test", nameserver=f"127.0.0.1:{dns_server.port}", timeout="5s")
    with Runner(max_in_flight=4, source_address="127.0.0.3") as runner:
        results = runner.run([check])
    assert results[0].outcome == "up", results[0].message
    assert dns_server.peers == ["127.0.0.3"]


def test_without_a_source_address_the_kernel_picks_it(http_server: TargetServer, tcp_server: TcpTarget):
    with Runner(max_in_flight=4) as runner:
        results = runner.run([
            spec(kind="http", url=f"{http_server.url}/", timeout="5s"),
            spec(kind="tcp", host="127.0.0.1", port=tcp_server.port, timeout="5s"),
        ])
    assert [r.outcome for r in results] == ["up", "up"]
    deadline = time.monotonic() + 10  # the TCP probe may be done before the server's handler thread ran
    while not tcp_server.peers and time.monotonic() < deadline:
        time.sleep(0.01)
    assert http_server.peers() == ["127.0.0.1"] and tcp_server.peers == ["127.0.0.1"]


def test_a_source_address_that_is_not_an_ip_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        Runner(max_in_flight=1, source_address="eth0")


def test_a_source_address_of_the_other_family_fails_the_probe_clearly(tcp_server: TcpTarget) -> None:
    check = spec(kind="tcp", host="127.0.0.1", port=tcp_server.port, timeout="5s")
    with Runner(max_in_flight=1, source_address="::1") as runner:
        result = runner.run([check])[0]
    assert result.outcome == "down"
    assert "no IPv6 address" in result.message
    assert tcp_server.peers == []
