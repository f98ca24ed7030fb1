"""Name lookup and connection set-up on the event loop, shared by the http, tcp and tls probes.

Host names are resolved without threads: ``getaddrinfo`` would run in the
loop's default executor (a handful of threads), and a handful of lookups
against a DNS server that never answers would stall every other probe's
lookup. :class:`HostResolver` answers IP literals and RFC 6761 special names
itself, reads ``/etc/hosts``, and asks DNS through dnspython's asyncio
resolver, bounded by the probe's own deadline. Positive answers are cached
for their TTL (at most :data:`MAX_CACHE_TTL_S`); failures are never cached,
so a DNS outage shows at the next probe.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import time
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver
from aiohttp.abc import AbstractResolver, ResolveResult

from checks.deadline import Deadline, current_deadline

__all__ = ["HostResolver", "ProbeError", "ResolveError", "hostport", "open_stream"]

MAX_CACHE_TTL_S = 60.0
_MAX_CACHE_ENTRIES = 50_000
_HOSTS_FILE = "/etc/hosts"
_DEFAULT_LOOKUP_S = 10.0  # a lookup outside any probe (none happen today) still ends


class ProbeError(Exception):
    """A classified probe failure: ``error_class`` plus a human message."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message


class ResolveError(OSError):
    """A host name did not resolve; ``message`` says why in an operator's words.

    An ``OSError`` so that aiohttp reports it as a DNS failure of the request
    (``ClientConnectorDNSError``) with this error as its cause.
    """

    def __init__(self, message: str) -> None:
        super().__init__(socket.EAI_NONAME, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


Address = tuple[int, str]  # (socket family, IP text)


class HostResolver:
    """Resolves host names to addresses on the event loop, never in a thread.

    ``nameservers`` is a list of ``(ip, port)`` to ask instead of those of
    ``/etc/resolv.conf`` (tests point it at a DNS server they control).
    Use one per event loop.
    """

    def __init__(self, nameservers: list[tuple[str, int]] | None = None, *, hosts_file: str = _HOSTS_FILE) -> None:
        self._hosts_file = hosts_file
        self._hosts: dict[str, list[Address]] = {}
        self._hosts_mtime: float | None = None
        self._hosts_checked = 0.0
        self._cache: dict[str, tuple[float, list[Address]]] = {}
        try:
            self._dns = dns.asyncresolver.Resolver(configure=nameservers is None)
        except dns.resolver.NoResolverConfiguration:
            self._dns = dns.asyncresolver.Resolver(configure=False)
        if nameservers is not None:
            self._dns.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers]

    async def resolve(self, host: str, deadline: Deadline | None = None) -> list[Address]:
        """The addresses of ``host``, IPv4 first; raises :class:`ResolveError`.

        The lookup ends when ``deadline`` (default: the current probe's) runs out.
        """
        name = host.rstrip(".").lower()
        literal = _literal(name.strip("[]"))
        if literal is not None:
            return [literal]
        if name == "invalid" or name.endswith(".invalid"):
            raise ResolveError(f"cannot resolve host {host!r} (the .invalid domain never resolves)")
        if name == "localhost" or name.endswith(".localhost"):
            return self._from_hosts(name) or [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
        known = self._from_hosts(name)
        if known:
            return known
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        deadline = deadline or current_deadline()
        lifetime = deadline.remaining() if deadline is not None else _DEFAULT_LOOKUP_S
        addresses, ttl = await self._ask(host, name, max(lifetime, 0.001))
        if len(self._cache) >= _MAX_CACHE_ENTRIES:
            self._cache.clear()
        self._cache[name] = (time.monotonic() + min(ttl, MAX_CACHE_TTL_S), addresses)
        return addresses

    async def _ask(self, host: str, name: str, lifetime: float) -> tuple[list[Address], float]:
        started = time.monotonic()
        if not self._dns.nameservers:
            raise ResolveError(f"cannot resolve host {host!r} (no nameserver configured on this machine)")
        no_answer = False
        for rdtype, family in (("A", socket.AF_INET), ("AAAA", socket.AF_INET6)):
            left = lifetime - (time.monotonic() - started)
            if left <= 0:
                break
            try:
                answer = await self._dns.resolve(name, rdtype, search=True, lifetime=left)
            except dns.resolver.NXDOMAIN:
                raise ResolveError(f"cannot resolve host {host!r} (no such domain)") from None
            except dns.resolver.NoAnswer:
                no_answer = True
                continue
            except dns.exception.Timeout:
                raise ResolveError(f"no DNS answer for host {host!r} within {lifetime:.3g}s") from None
            except dns.resolver.NoNameservers as exc:
                raise ResolveError(f"cannot resolve host {host!r} (DNS servers failed: {_first_error(exc)})") from None
            except dns.exception.DNSException as exc:
                raise ResolveError(f"cannot resolve host {host!r} ({exc})") from None
            addresses = [(family, rdata.address) for rdata in answer]
            if addresses:
                ttl = float(answer.rrset.ttl) if answer.rrset is not None else 0.0
                return addresses, ttl
            no_answer = True
        if no_answer:
            raise ResolveError(f"cannot resolve host {host!r} (no A or AAAA record)")
        raise ResolveError(f"no DNS answer for host {host!r} within {lifetime:.3g}s")

    def _from_hosts(self, name: str) -> list[Address] | None:
        now = time.monotonic()
        if now - self._hosts_checked >= 1.0:
            self._hosts_checked = now
            try:
                mtime = os.stat(self._hosts_file).st_mtime
            except OSError:
                mtime = None
            if mtime != self._hosts_mtime:
                self._hosts_mtime = mtime
                self._hosts = _read_hosts(self._hosts_file) if mtime is not None else {}
        return self._hosts.get(name)

    def aiohttp_resolver(self) -> AbstractResolver:
        """This resolver in the shape aiohttp's connector wants."""
        return _AiohttpResolver(self)


class _AiohttpResolver(AbstractResolver):
    """Adapts :class:`HostResolver` to aiohttp; bounded by the deadline of the probe asking."""

    def __init__(self, resolver: HostResolver) -> None:
        self._resolver = resolver

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[
        ResolveResult
    ]:
        deadline = current_deadline()
        if deadline is not None:
            deadline.phase = "dns"
        addresses = await self._resolver.resolve(host, deadline)
        if deadline is not None:
            deadline.phase = "connect"
            deadline.peer = f"{addresses[0][1]}:{port}"
        results: list[ResolveResult] = [
            {"hostname": host, "host": ip, "port": port, "family": fam, "proto": 0, "flags": socket.AI_NUMERICHOST}
            for fam, ip in addresses
            if family in (socket.AF_UNSPEC, fam)
        ]
        if not results:
            raise ResolveError(f"cannot resolve host {host!r} (no address of family {family!r})")
        return results

    async def close(self) -> None:
        return None


async def open_stream(
    host: str, port: int, resolver: HostResolver, deadline: Deadline, *, source_address: str | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """Resolve ``host`` and connect to the first address that accepts; return ``(reader, writer, ip)``.

    Runs until connected or cancelled (the caller's ``asyncio.timeout`` is the
    deadline). With ``source_address`` the connection is made from that local IP,
    and only addresses of its family are tried. Raises :class:`ProbeError` with
    class ``dns``, ``refused`` or ``connection``.
    """
    deadline.phase = "dns"
    try:
        addresses = await resolver.resolve(host, deadline)
    except ResolveError as exc:
        raise ProbeError("dns", exc.message) from None
    local_addr: tuple[str, int] | None = None
    if source_address is not None:
        family = socket.AF_INET6 if ":" in source_address else socket.AF_INET
        usable = [a for a in addresses if a[0] == family]
        if not usable:
            version = "IPv6" if family == socket.AF_INET6 else "IPv4"
            raise ProbeError("dns", f"host {host!r} has no {version} address to reach from source {source_address}")
        addresses, local_addr = usable, (source_address, 0)
    last: ProbeError | None = None
    for _, ip in addresses:
        deadline.phase, deadline.peer = "connect", hostport(ip, port)
        try:
            reader, writer = await asyncio.open_connection(ip, port, limit=256 * 1024, local_addr=local_addr)
        except ConnectionRefusedError:
            last = ProbeError("refused", f"connection refused by {deadline.peer}")
            continue
        except OSError as exc:
            last = ProbeError("connection", f"cannot connect to {deadline.peer}: {exc.strerror or exc}")
            continue
        return reader, writer, ip
    raise last or ProbeError("connection", f"cannot connect to {host}:{port}")


def hostport(ip: str, port: int) -> str:
    """``ip:port``, with brackets around an IPv6 address."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _literal(name: str) -> Address | None:
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return None
    return (socket.AF_INET6 if address.version == 6 else socket.AF_INET, str(address))


def _read_hosts(path: str) -> dict[str, list[Address]]:
    hosts: dict[str, list[Address]] = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except OSError:
        return hosts
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        address = _literal(fields[0])
        if address is None:
            continue
        for name in fields[1:]:
            entries = hosts.setdefault(name.rstrip(".").lower(), [])
            if address not in entries:
                entries.append(address)
    for entries in hosts.values():
        entries.sort(key=lambda a: a[0] != socket.AF_INET)  # IPv4 first, as the DNS path does
    return hosts


def _first_error(exc: Any) -> str:
    errors = exc.kwargs.get("errors") if hasattr(exc, "kwargs") else None
    if errors:
        return str(errors[0][3])
    return str(exc)
