"""Webhooks: a signed JSON POST with short timeouts, sent only where the outbound policy allows.

Signature: ``X-Statuspage-Signature: sha256=<hex>`` where hex = HMAC-SHA256(secret, f"{timestamp}." + body)
and ``X-Statuspage-Timestamp`` is the Unix time; a receiver recomputes it and rejects stale timestamps,
so a captured request cannot be replayed later.

Every send resolves the URL's host and vets each address (``statuspage.outbound``), then connects to
the vetted address itself — the socket never does a lookup of its own — with the host name kept for
the ``Host`` header, TLS SNI and certificate checks. Redirects are not followed. A failure is
described by the status line or the kind of network trouble; the reply body and the URL never go into
the error (read-only roles see it, and a Slack hook URL is a secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http
import socket
import ssl
import time

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.connection import create_connection

from ..outbound import OutboundPolicy, OutboundRefused, Target
from . import DeliveryError

SIGNATURE_HEADER = "X-Statuspage-Signature"
TIMESTAMP_HEADER = "X-Statuspage-Timestamp"
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
# Worth retrying: the receiver is overloaded or asks us to come back.
_TRANSIENT_STATUS = {408, 425, 429}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The value of the signature header for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: float = 300.0,
           now: float | None = None) -> bool:
    """What a receiver does: constant-time compare, and refuse timestamps outside `tolerance` seconds."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


class _PinnedConnection:
    """Connects to ``pinned_address`` instead of looking ``host`` up (host stays for Host/SNI/cert)."""

    pinned_address: str
    port: int
    timeout: float
    source_address: tuple[str, int] | None
    socket_options: list | None

    def _new_conn(self) -> socket.socket:
        try:
            return create_connection((self.pinned_address, self.port), self.timeout,
                                     source_address=self.source_address, socket_options=self.socket_options)
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, "connect timed out") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"cannot connect: {exc.strerror or type(exc).__name__}") from exc


class _PinnedHTTPConnection(_PinnedConnection, HTTPConnection):
    def __init__(self, *args, pinned_address: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.pinned_address = pinned_address


class _PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    def __init__(self, *args, pinned_address: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.pinned_address = pinned_address


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


def _status_text(code: int) -> str:
    try:
        return f"HTTP {code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


class WebhookTransport:
    """POSTs JSON bodies under an ``OutboundPolicy``; connections are kept per vetted address for a batch."""

    def __init__(self, policy: OutboundPolicy | None = None, user_agent: str = "statuspage-webhooks/1"):
        self.policy = policy or OutboundPolicy()
        self.user_agent = user_agent
        self._pools: dict[tuple[str, str, int, str], HTTPConnectionPool] = {}
        self._tls: ssl.SSLContext | None = None

    def open(self) -> None:
        """Nothing to do up front: connections are made per destination on first use."""

    def _pool(self, target: Target, address: str) -> HTTPConnectionPool:
        key = (target.scheme, target.host, target.port, address)
        pool = self._pools.get(key)
        if pool is None:
            timeout = Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
            if target.scheme == "https":
                if self._tls is None:
                    self._tls = ssl.create_default_context()
                pool = _PinnedHTTPSPool(target.host, target.port, timeout=timeout, maxsize=1, retries=False,
                                        ssl_context=self._tls, pinned_address=address)
            else:
                pool = _PinnedHTTPPool(target.host, target.port, timeout=timeout, maxsize=1, retries=False,
                                       pinned_address=address)
            self._pools[key] = pool
        return pool

    def send(self, url: str, body: bytes, secret: str | None) -> None:
        """POST ``body`` to ``url``; DeliveryError (permanent or not) with a short reason when it fails."""
        try:
            target = self.policy.check_url(url)
        except OutboundRefused as exc:
            raise DeliveryError(f"refused: {exc}", permanent=exc.permanent) from None
        headers = {"Content-Type": "application/json", "User-Agent": self.user_agent}
        if target.username is not None or target.password is not None:
            pair = f"{target.username or ''}:{target.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        if secret:
            ts = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = ts
            headers[SIGNATURE_HEADER] = sign(secret, ts, body)
        pool = self._pool(target, str(target.addresses[0]))
        try:
            resp = pool.urlopen("POST", target.path, body=body, headers=headers, redirect=False, retries=False,
                                preload_content=False, assert_same_host=False)
        except (ConnectTimeoutError, ReadTimeoutError):
            raise DeliveryError("timed out", permanent=False) from None
        except SSLError:
            raise DeliveryError("TLS handshake failed (certificate or protocol)", permanent=False) from None
        except NewConnectionError as exc:
            raise DeliveryError(_connection_reason(exc), permanent=False) from None
        except HTTPError as exc:
            raise DeliveryError(f"connection failed ({type(exc).__name__})", permanent=False) from None
        status = resp.status
        # The reply body is never read into an error: it is the receiver's, not ours to show. Closing
        # drops the connection rather than draining a body of unknown size.
        resp.close()
        resp.release_conn()
        if 200 <= status < 300:
            return
        permanent = status < 500 and status not in _TRANSIENT_STATUS
        raise DeliveryError(_status_text(status), permanent=permanent, code=status)

    def close(self) -> None:
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()


def _connection_reason(exc: NewConnectionError) -> str:
    cause = exc.__cause__
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, OSError) and cause.strerror:
        return f"cannot connect: {cause.strerror.lower()}"
    return "cannot connect"
