"""DNS probe on dnspython's asyncio API: one query (UDP, TCP on truncation); response code and answers as facts.

A DNS server that never answers costs this probe its timeout and nothing else: the
query waits on the event loop, not in a thread.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from functools import lru_cache

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from checks.conditions import Observation, evaluate_conditions
from checks.probes.session import ProbeSession
from checks.result import ProbeResult, decide
from checks.spec import CheckSpec

__all__ = ["probe_dns"]


@lru_cache(maxsize=1)
def _system_nameservers() -> tuple[str, ...]:
    """The nameservers of /etc/resolv.conf (read once per process)."""
    try:
        return tuple(str(ns) for ns in dns.resolver.Resolver(configure=True).nameservers)
    except Exception:
        return ()


async def probe_dns(spec: CheckSpec, session: ProbeSession, *, now: datetime | None = None) -> ProbeResult:
    """Query ``spec.host`` for ``spec.record_type`` within ``spec.timeout`` seconds; never raises.

    ``[DNS_RCODE]`` is the response code (NOERROR, NXDOMAIN, ...),
    ``[DNS_ANSWERS]`` the answers of the asked type as sorted text (names without the
    trailing dot, TXT strings unquoted), ``[IP]`` the first A/AAAA answer.
    """
    assert spec.host is not None
    started = time.monotonic()
    deadline = started + spec.timeout
    obs = Observation(kind="dns")
    error_class: str | None = None
    error_message: str | None = None
    configured = spec.nameserver_address()
    servers = [configured] if configured else [(ns, 53) for ns in _system_nameservers()]
    observed: dict[str, object] = {"query": f"{spec.host} {spec.record_type}"}
    try:
        if not servers:
            raise _Failure("dns", "no nameserver configured on this machine")
        rdtype = dns.rdatatype.from_text(spec.record_type)
        query = dns.message.make_query(dns.name.from_text(spec.host), rdtype)
        response = None
        for index, (server, port) in enumerate(servers):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            share = left / (len(servers) - index)
            try:
                # dnspython's own timeout ends the query; asyncio.timeout is the hard bound behind it.
                async with asyncio.timeout(max(share, 0.001) + 0.05):
                    response = await _ask(query, server, port, max(share, 0.001), session.source_address)
                observed["nameserver"] = f"{server}:{port}"
                break
            except (dns.exception.Timeout, TimeoutError):
                error_class, error_message = "timeout", f"no DNS answer from {server}:{port} within {spec.timeout:g}s"
            except ConnectionRefusedError:
                error_class, error_message = "refused", f"DNS server {server}:{port} refused the query"
            except (OSError, dns.exception.DNSException) as exc:
                error_class, error_message = "dns", f"DNS query to {server}:{port} failed: {exc}"
        if response is not None:
            error_class = error_message = None
            obs.dns_rcode = dns.rcode.to_text(response.rcode())
            obs.dns_answers = _answers(response, rdtype)
            obs.ip = next(
                (a for a in obs.dns_answers if spec.record_type in ("A", "AAAA")), None
            )
        elif error_class is None:
            error_class, error_message = "timeout", f"no DNS answer within {spec.timeout:g}s"
    except _Failure as exc:
        error_class, error_message = exc.error_class, str(exc)
    except Exception as exc:  # a probe never raises
        error_class, error_message = "internal", f"{type(exc).__name__}: {exc}"
    obs.response_time_ms = (time.monotonic() - started) * 1000.0
    results = evaluate_conditions(spec.parsed_conditions(), obs)
    if error_class is None and obs.dns_rcode not in (None, "NOERROR"):
        error_class = "dns"  # the message stays the failing condition's resolved text
    outcome, cls, message = decide(results, error_class=error_class, error_message=error_message)
    observed.update(obs.to_dict())
    return ProbeResult(
        outcome=outcome,
        latency_ms=obs.response_time_ms,
        error_class=cls,
        message=message,
        conditions=[r.to_dict() for r in results],
        observed=observed,
    )


class _Failure(Exception):
    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


async def _ask(
    query: dns.message.Message, server: str, port: int, timeout: float, source: str | None = None
) -> dns.message.Message:
    started = time.monotonic()
    try:
        return await dns.asyncquery.udp(
            query, server, timeout=timeout, port=port, source=source, raise_on_truncation=True
        )
    except dns.message.Truncated:
        left = timeout - (time.monotonic() - started)
        if left <= 0:
            raise dns.exception.Timeout() from None
        return await dns.asyncquery.tcp(query, server, timeout=left, port=port, source=source)


def _answers(response: dns.message.Message, rdtype: dns.rdatatype.RdataType) -> list[str]:
    answers: list[str] = []
    for rrset in response.answer:
        if rrset.rdtype != rdtype:
            continue
        for rdata in rrset:
            if rdtype == dns.rdatatype.TXT:
                answers.append(b"".join(rdata.strings).decode("utf-8", errors="replace"))
            else:
                answers.append(rdata.to_text().rstrip("."))
    return sorted(answers)  # a record set has no order; sorting keeps results comparable
