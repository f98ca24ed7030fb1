"""HTTP(S) probe: one request with hard deadlines and a bounded body read.

* one ``requests.Session`` per worker thread and TLS mode, with an adapter
  that hands urllib3 a shared, pre-built ``SSLContext`` (see ``_tls``);
* connect and read timeouts per socket operation, plus a total
  :class:`~checks.deadline.Deadline` whose watchdog shuts the socket down, so
  a server that drips bytes is cut at the total timeout;
* the body is streamed and read up to ``max_body_bytes``; more is not an
  error, the rest is never downloaded;
* redirects are followed here, hop by hop (at most 10), so a redirect loop is
  reported as such and no intermediate body is ever read;
* every response closes its connection: a pooled keep-alive connection that
  the server dropped must never look like an outage.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from checks.conditions import Observation, Outcome, evaluate_conditions
from checks.deadline import Deadline, current_deadline
from checks.probes import _tls
from checks.result import ProbeResult, decide
from checks.spec import CheckSpec

__all__ = ["MAX_REDIRECTS", "USER_AGENT", "probe_http"]

MAX_REDIRECTS = 10
USER_AGENT = "statuspage-probe/1.0"
_CHUNK = 64 * 1024


# --------------------------------------------------------------------------- transport plumbing


class _DeadlineSocketMixin:
    """Registers a connection's socket with the thread's deadline as soon as it exists."""

    peer_ip: str | None = None
    peer_cert: bytes | None = None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        deadline = current_deadline()
        if deadline is not None:
            deadline.register(sock)
        return sock


class _DeadlineHTTPConnection(_DeadlineSocketMixin, HTTPConnection):
    """Registers its socket with the thread's deadline as soon as it exists, and notes the peer."""

    def connect(self) -> None:
        super().connect()
        # http.client drops .sock when the server says "Connection: close"; keep the facts now.
        self.peer_ip = _peer_ip(self.sock) if self.sock is not None else None


class _DeadlineHTTPSConnection(_DeadlineSocketMixin, HTTPSConnection):
    """HTTPS flavour of :class:`_DeadlineHTTPConnection` (registered before the handshake)."""

    def connect(self) -> None:
        super().connect()
        sock = self.sock
        if sock is not None:
            self.peer_ip = _peer_ip(sock)
            if isinstance(sock, ssl.SSLSocket):
                self.peer_cert = sock.getpeercert(binary_form=True)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class _ProbeAdapter(HTTPAdapter):
    """An adapter with one fixed, shared ``SSLContext`` and deadline-aware connections."""

    def __init__(self, ssl_context: ssl.SSLContext, verify: bool) -> None:
        self._ssl_context = ssl_context
        self._verify = verify
        super().__init__(pool_connections=4, pool_maxsize=4, max_retries=0)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, ssl_context=self._ssl_context, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        pool_kwargs.pop("ca_certs", None)
        pool_kwargs.pop("ca_cert_dir", None)
        pool_kwargs["cert_reqs"] = "CERT_REQUIRED" if self._verify else "CERT_NONE"
        pool_kwargs["ssl_context"] = self._ssl_context
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # Never hand urllib3 a CA path: it would reload the bundle per connection.
        conn.cert_reqs = "CERT_REQUIRED" if self._verify else "CERT_NONE"
        conn.ca_certs = None
        conn.ca_cert_dir = None


_local = threading.local()


def _session(verify: bool) -> requests.Session:
    """This thread's session for the given TLS mode (created on first use)."""
    sessions: dict[bool, requests.Session] | None = getattr(_local, "sessions", None)
    if sessions is None or getattr(_local, "generation", None) != _tls.generation():
        reset_sessions()
        sessions = _local.sessions = {}
        _local.generation = _tls.generation()
    session = sessions.get(verify)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no per-request environment lookups; probes go direct
        session.headers["User-Agent"] = USER_AGENT
        if not verify:
            # verify_tls: false is the operator's explicit choice; urllib3 would warn on every probe.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        context = _tls.verifying_context() if verify else _tls.insecure_context()
        adapter = _ProbeAdapter(context, verify)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        sessions[verify] = session
    return session


def reset_sessions() -> None:
    """Drop this thread's sessions (after :func:`checks.probes._tls.set_ca_bundle`, say)."""
    for session in getattr(_local, "sessions", {}).values():
        session.close()
    _local.sessions = {}


# --------------------------------------------------------------------------- the probe


class _RedirectError(Exception):
    pass


def probe_http(spec: CheckSpec, *, now: datetime | None = None) -> ProbeResult:
    """Run one HTTP probe for ``spec``; never raises."""
    assert spec.url is not None
    obs = Observation(kind="http")
    error_class: str | None = None
    error_message: str | None = None
    observed: dict[str, Any] = {"url": spec.url}
    wants_cert = any("CERT_EXPIRY" in c.placeholders for c in spec.parsed_conditions())
    with Deadline(spec.timeout) as deadline:
        response = None
        try:
            response, hops = _request(spec, deadline)
            obs.status = response.status_code
            obs.headers = {k.lower(): v for k, v in response.headers.items()}
            obs.connected = True
            observed["final_url"] = response.url
            if hops:
                observed["redirects"] = hops
            connection = getattr(response.raw, "connection", None)
            obs.ip = getattr(connection, "peer_ip", None)
            der = getattr(connection, "peer_cert", None)
            if wants_cert and der:
                host = urlsplit(response.url).hostname or ""
                facts = _tls.certificate_facts(der, host, now)
                obs.cert_expiry_s = float(facts["cert_expiry_s"])  # type: ignore[arg-type]
                observed["cert_not_after"] = facts["cert_not_after"]
            if spec.method != "HEAD":
                obs.body, obs.body_truncated = _read_body(response, spec.max_body_bytes, deadline)
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


def _request(spec: CheckSpec, deadline: Deadline) -> tuple[requests.Response, list[str]]:
    session = _session(spec.verify_tls)
    method, url = spec.method, spec.url
    assert url is not None
    data: bytes | None = spec.body.encode() if spec.body is not None else None
    headers = dict(spec.headers)
    seen = [url]
    for _ in range(MAX_REDIRECTS + 1):
        deadline.check()
        response = session.request(
            method,
            url,
            headers=headers,
            data=data,
            allow_redirects=False,
            stream=True,
            verify=spec.verify_tls,
            timeout=(deadline.timeout(), deadline.timeout()),
        )
        if not (spec.follow_redirects and response.is_redirect):
            return response, seen[1:]
        location = response.headers["location"]
        response.close()
        next_url = urljoin(url, location)
        if urlsplit(next_url).scheme not in ("http", "https"):
            raise _RedirectError(f"redirect to unsupported URL {next_url!r}")
        if next_url in seen:
            loop = " → ".join([*seen[seen.index(next_url) :], next_url])
            raise _RedirectError(f"redirect loop: {loop}")
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method, data = ("HEAD" if method == "HEAD" else "GET"), None
            headers.pop("Content-Type", None)
        if urlsplit(next_url).netloc != urlsplit(url).netloc:
            headers.pop("Authorization", None)
        seen.append(next_url)
        url = next_url
    raise _RedirectError(f"too many redirects (more than {MAX_REDIRECTS}), last to {seen[-1]}")


def _read_body(response: requests.Response, limit: int, deadline: Deadline) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes; return ``(body, truncated)``."""
    body = bytearray()
    truncated = False
    for chunk in response.iter_content(chunk_size=min(_CHUNK, limit)):
        deadline.check()
        room = limit - len(body)
        if len(chunk) > room:
            body += chunk[:room]
            truncated = True
            break
        body += chunk
        if len(body) >= limit:
            length = response.headers.get("Content-Length")
            truncated = not (length and length.isdigit() and int(length) <= limit)
            break
    deadline.check()
    return bytes(body), truncated


def _peer_ip(sock: socket.socket) -> str | None:
    try:
        return str(sock.getpeername()[0])
    except OSError:
        return None


def _classify(exc: BaseException, spec: CheckSpec, deadline: Deadline) -> tuple[str, str]:
    """Map an exception to ``(error_class, message)``."""
    host = urlsplit(spec.url or "").hostname or ""
    if isinstance(exc, _RedirectError):
        return "http", str(exc)
    if deadline.expired:
        return "timeout", f"no complete response within the {spec.timeout:g}s timeout"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "timeout", f"connect timeout after {spec.timeout:g}s"
    if isinstance(exc, (requests.exceptions.ReadTimeout, socket.timeout, TimeoutError)):
        return "timeout", f"read timeout after {spec.timeout:g}s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls", f"TLS error: {_ssl_reason(exc)}"
    chain = list(_causes(exc))
    if any(isinstance(e, socket.gaierror) or type(e).__name__ == "NameResolutionError" for e in chain):
        return "dns", f"cannot resolve host {host!r}"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "refused", f"connection refused by {host}:{_port(spec)}"
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return "tls", f"TLS error: {_ssl_reason(exc)}"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidHeader)):
        return "http", f"invalid request: {exc}"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return "http", f"malformed response body: {_root(exc)}"
    if isinstance(exc, (requests.exceptions.ConnectionError, urllib3.exceptions.HTTPError, OSError)):
        return "connection", f"connection failed: {_root(exc)}"
    return "internal", f"{type(exc).__name__}: {exc}"


def _port(spec: CheckSpec) -> int:
    parts = urlsplit(spec.url or "")
    return parts.port or (443 if parts.scheme == "https" else 80)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        reason = getattr(e, "reason", None)
        stack.extend([e.__cause__, e.__context__, reason if isinstance(reason, BaseException) else None])
        stack.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))


def _root(exc: BaseException) -> str:
    chain = list(_causes(exc))
    for e in reversed(chain):
        text = str(e)
        if text:
            return text[:300]
    return type(exc).__name__


def _ssl_reason(exc: BaseException) -> str:
    for e in _causes(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {e.verify_message}"
    for e in _causes(exc):
        if isinstance(e, ssl.SSLError) and getattr(e, "reason", None):
            return str(e.reason).lower().replace("_", " ")
    return _root(exc)
