"""HTTP(S) probe on aiohttp: one request under a hard total deadline, with a bounded body read.

* the whole probe — name lookup, connect, TLS handshake, every redirect hop,
  the body — runs inside one ``asyncio.timeout(spec.timeout)``; each hop also
  carries an ``aiohttp.ClientTimeout`` (total, connect, read) of what is left,
  so a server that drips one byte a second is cut at the total timeout;
* a new connection per probe (see :mod:`checks.probes.session`), one shared
  ``SSLContext`` per TLS mode;
* the body is read up to ``max_body_bytes``; more is not an error, the rest
  is never downloaded;
* redirects are followed here, hop by hop (at most 10), so a redirect loop is
  reported as such and no intermediate body is ever read.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from checks.conditions import Observation, Outcome, evaluate_conditions
from checks.deadline import Deadline
from checks.probes import _tls
from checks.probes._net import ResolveError, hostport
from checks.probes.session import ProbeSession
from checks.result import ProbeResult, decide
from checks.spec import CheckSpec

__all__ = ["MAX_REDIRECTS", "probe_http"]

MAX_REDIRECTS = 10
_CHUNK = 64 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class _RedirectError(Exception):
    pass


async def probe_http(spec: CheckSpec, session: ProbeSession, *, now: datetime | None = None) -> ProbeResult:
    """Run one HTTP probe for ``spec`` on ``session``; never raises (except on cancellation)."""
    assert spec.url is not None
    obs = Observation(kind="http")
    error_class: str | None = None
    error_message: str | None = None
    observed: dict[str, Any] = {"url": spec.url}
    deadline = Deadline(spec.timeout)
    response: aiohttp.ClientResponse | None = None
    with deadline.active():
        try:
            async with asyncio.timeout(spec.timeout):
                response, hops, final_url = await _request(spec, session, deadline)
                obs.status = response.status
                obs.headers = _headers(response)
                obs.connected = True
                observed["final_url"] = final_url
                if hops:
                    observed["redirects"] = hops
                obs.ip = deadline.ip
                if deadline.cert_der and any("CERT_EXPIRY" in c.placeholders for c in spec.parsed_conditions()):
                    host = urlsplit(final_url).hostname or ""
                    facts = _tls.certificate_facts(deadline.cert_der, host, now)
                    obs.cert_expiry_s = float(facts["cert_expiry_s"])  # type: ignore[arg-type]
                    observed["cert_not_after"] = facts["cert_not_after"]
                if spec.method != "HEAD":
                    deadline.phase = "read"
                    obs.body, obs.body_truncated = await _read_body(response, spec.max_body_bytes)
        except Exception as exc:  # classify everything; a probe never raises
            error_class, error_message = _classify(exc, spec, deadline)
            if obs.status is None:
                obs.connected = False
        finally:
            if response is not None:
                response.close()
    obs.response_time_ms = deadline.elapsed_ms()
    results = evaluate_conditions(spec.parsed_conditions(), obs)
    outcome: Outcome
    cls: str | None
    if error_class is not None:
        # The exchange did not complete (refused, timed out, broken): down, whatever the conditions say.
        outcome, cls, message = "down", error_class, error_message or error_class
    else:
        outcome, cls, message = decide(results)
    observed.update({k: v for k, v in obs.to_dict().items() if k != "response_time_ms"})
    return ProbeResult(
        outcome=outcome,
        latency_ms=obs.response_time_ms,
        status_code=obs.status,
        error_class=cls,
        message=message,
        conditions=[r.to_dict() for r in results],
        observed=observed,
    )


async def _request(
    spec: CheckSpec, session: ProbeSession, deadline: Deadline
) -> tuple[aiohttp.ClientResponse, list[str], str]:
    """Send the request, following redirects hop by hop; return ``(response, hops, final url)``."""
    http = session.http
    method, url = spec.method, spec.url
    assert url is not None
    data: bytes | None = spec.body.encode() if spec.body is not None else None
    headers = dict(spec.headers)
    context = _tls.verifying_context() if spec.verify_tls else _tls.insecure_context()
    seen = [url]
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        deadline.phase = "connect"
        deadline.peer = hostport(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        deadline.ip = deadline.cert_der = None
        left = max(deadline.remaining(), 0.001)
        response = await http.request(
            method,
            url,
            headers=headers,
            data=data,
            allow_redirects=False,
            ssl=context,
            timeout=aiohttp.ClientTimeout(total=left, sock_connect=left, sock_read=left),
        )
        location = response.headers.get("Location")
        if not (spec.follow_redirects and response.status in _REDIRECT_STATUSES and location is not None):
            return response, seen[1:], url
        response.close()
        next_url = urljoin(url, location)
        if urlsplit(next_url).scheme not in ("http", "https"):
            raise _RedirectError(f"redirect to unsupported URL {next_url!r}")
        if next_url in seen:
            loop = " → ".join([*seen[seen.index(next_url) :], next_url])
            raise _RedirectError(f"redirect loop: {loop}")
        if response.status == 303 or (response.status in (301, 302) and method == "POST"):
            method, data = ("HEAD" if method == "HEAD" else "GET"), None
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if urlsplit(next_url).netloc != parts.netloc:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        seen.append(next_url)
        url = next_url
    raise _RedirectError(f"too many redirects (more than {MAX_REDIRECTS}), last to {seen[-1]}")


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes; return ``(body, truncated)``.

    One byte past the limit is asked for, so a body of exactly ``limit`` bytes
    is not reported as cut.
    """
    content = response.content
    body = bytearray()
    while len(body) <= limit:
        chunk = await content.read(min(_CHUNK, limit + 1 - len(body)))
        if not chunk:
            break
        body += chunk
    if len(body) > limit:
        return bytes(body[:limit]), True
    return bytes(body), False


def _headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    """Response headers with lower-case names; repeated headers joined with ", " (as RFC 9110 allows)."""
    out: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _classify(exc: BaseException, spec: CheckSpec, deadline: Deadline) -> tuple[str, str]:
    """Map an exception to ``(error_class, message)``."""
    host = urlsplit(spec.url or "").hostname or ""
    if isinstance(exc, _RedirectError):
        return "http", str(exc)
    chain = list(_causes(exc))
    resolve_error = next((e for e in chain if isinstance(e, ResolveError)), None)
    if resolve_error is not None:
        return "dns", resolve_error.message
    if isinstance(exc, TimeoutError):  # ours (asyncio.timeout) or aiohttp's (a subclass)
        return _timeout(spec, deadline, host)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns", f"cannot resolve host {host!r}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "tls", f"TLS error: {_ssl_reason(exc)}"
    if isinstance(exc, aiohttp.ClientSSLError) or any(isinstance(e, ssl.SSLError) for e in chain):
        return "tls", f"TLS error: {_ssl_reason(exc)}"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "refused", f"connection refused by {deadline.peer or host}"
    if isinstance(exc, aiohttp.InvalidURL):
        return "http", f"invalid request: {exc}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "http", f"malformed response body: {_root(exc)}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "http", f"invalid HTTP response: {exc.message}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection", f"cannot connect to {deadline.peer or host}: {_root(exc.os_error)}"
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return "connection", f"connection failed: {_root(exc)}"
    if isinstance(exc, ValueError):  # e.g. a header value aiohttp refuses to send
        return "http", f"invalid request: {exc}"
    return "internal", f"{type(exc).__name__}: {exc}"


def _timeout(spec: CheckSpec, deadline: Deadline, host: str) -> tuple[str, str]:
    limit = f"{spec.timeout:g}s"
    if deadline.phase == "dns":
        return "dns", f"no DNS answer for host {host!r} within the {limit} timeout"
    if deadline.phase == "connect":
        return "timeout", f"no connection to {deadline.peer} within the {limit} timeout (TCP connect or TLS handshake)"
    if deadline.phase == "request":
        return "timeout", f"no response from {deadline.peer} within the {limit} timeout"
    return "timeout", f"no complete response within the {limit} timeout"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        stack.extend([e.__cause__, e.__context__, getattr(e, "os_error", None), getattr(e, "certificate_error", None)])
        stack.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))


def _root(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    chain = list(_causes(exc))
    for e in reversed(chain):
        text = getattr(e, "strerror", None) or str(e)
        if text:
            return text[:300]
    return type(exc).__name__


def _ssl_reason(exc: BaseException) -> str:
    for e in _causes(exc):
        # aiohttp's ClientConnectorCertificateError is itself a CertificateError, without the details
        if isinstance(e, ssl.SSLCertVerificationError) and getattr(e, "verify_message", None):
            return f"certificate verify failed: {e.verify_message}"
    for e in _causes(exc):
        if isinstance(e, ssl.SSLError) and getattr(e, "reason", None):
            return str(e.reason).lower().replace("_", " ")
    return _root(exc)
