"""Host names for http/tcp/tls probes are resolved on the event loop (dnspython), never by getaddrinfo."""

from __future__ import annotations

import socket

import pytest

from checks.probes import HostResolver, run_probe
from checks.probes._net import ResolveError
from tests.support.aio import run_async
from tests.support.dns_server import DnsServer
from tests.support.target import TcpTarget


@pytest.fixture
def dns_server():
    server = DnsServer(
        {("api.test", "A"): ["127.0.0.1"], ("v6only.test", "AAAA"): ["::1"], ("txtonly.test", "TXT"): ['"x"']},
        rcodes={"broken.test": "SERVFAIL"},
        silent={"slow.test"},
    )
    yield server
    server.stop()


@pytest.fixture
def resolver(dns_server):
    return HostResolver(nameservers=[("127.0.0.1", dns_server.port)])


def test_an_http_probe_resolves_its_host_through_dns(target, make_spec, dns_server, resolver):
    target.set("/health")
    result = run_probe(make_spec(kind="http", url=f"http://api.test:{target.port}/health"), resolver=resolver)
    assert result.outcome == "up", result.message
    assert result.observed["ip"] == "127.0.0.1"
    assert ("api.test.", "A") in dns_server.queries


def test_a_tcp_probe_resolves_its_host_through_dns(make_spec, dns_server, resolver):
    with TcpTarget() as server:
        result = run_probe(make_spec(kind="tcp", host="api.test", port=server.port), resolver=resolver)
    assert result.outcome == "up", result.message
    assert ("api.test.", "A") in dns_server.queries


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("missing.test", "cannot resolve host 'missing.test' (no such domain)"),
        ("txtonly.test", "cannot resolve host 'txtonly.test' (no A or AAAA record)"),
        ("broken.test", "cannot resolve host 'broken.test' (DNS servers failed"),
    ],
    ids=["nxdomain", "no-address", "servfail"],
)
def test_a_name_that_does_not_resolve_is_a_dns_error(make_spec, resolver, host, message):
    result = run_probe(make_spec(kind="http", url=f"http://{host}/"), resolver=resolver)
    assert result.outcome == "down"
    assert result.error_class == "dns"
    assert result.message.startswith(message), result.message


def test_a_dns_server_that_never_answers_ends_within_the_probe_timeout(make_spec, resolver):
    result = run_probe(make_spec(kind="tls", host="slow.test", port=443, timeout="1s", interval="10s"),
                       resolver=resolver)
    assert result.outcome == "down"
    assert result.error_class == "dns"
    assert "no DNS answer for host 'slow.test'" in result.message


def test_answers_are_cached_for_their_ttl_and_failures_are_not(dns_server, resolver):
    async def lookups():
        first = await resolver.resolve("api.test")
        second = await resolver.resolve("api.test")
        for _ in range(2):
            with pytest.raises(ResolveError):
                await resolver.resolve("missing.test")
        return first, second

    first, second = run_async(lookups)
    assert first == second == [(socket.AF_INET, "127.0.0.1")]
    assert dns_server.queries.count(("api.test.", "A")) == 1
    assert dns_server.queries.count(("missing.test.", "A")) == 2


def test_an_ipv6_only_name_resolves_to_its_aaaa_record(resolver):
    assert run_async(lambda: resolver.resolve("v6only.test")) == [(socket.AF_INET6, "::1")]


def test_literals_localhost_hosts_file_and_invalid_need_no_dns(tmp_path, dns_server):
    hosts = tmp_path / "hosts"
    hosts.write_text("# comment\n10.1.2.3  db.internal db\n::1 v6.internal\n")
    resolver = HostResolver(nameservers=[("127.0.0.1", dns_server.port)], hosts_file=str(hosts))

    async def lookups():
        return [
            await resolver.resolve("192.0.2.7"),
            await resolver.resolve("[::1]"),
            await resolver.resolve("localhost"),
            await resolver.resolve("DB.internal."),
            await resolver.resolve("v6.internal"),
        ]

    literal, v6literal, localhost, db, v6 = run_async(lookups)
    assert literal == [(socket.AF_INET, "192.0.2.7")]
    assert v6literal == [(socket.AF_INET6, "::1")]
    assert localhost[0] == (socket.AF_INET, "127.0.0.1")
    assert db == [(socket.AF_INET, "10.1.2.3")]
    assert v6 == [(socket.AF_INET6, "::1")]
    with pytest.raises(ResolveError, match="the .invalid domain never resolves"):
        run_async(lambda: resolver.resolve("name.invalid"))
    assert dns_server.queries == []
