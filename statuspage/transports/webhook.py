"""Webhooks: a signed JSON POST with short timeouts.

Signature: ``X-Statuspage-Signature: sha256=<hex>`` where hex = HMAC-SHA256(secret, f"{timestamp}." + body)
and ``X-Statuspage-Timestamp`` is the Unix time; a receiver recomputes it and rejects stale timestamps,
so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import requests

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


class WebhookTransport:
    """POSTs JSON bodies; one requests.Session (keep-alive) per batch."""

    def __init__(self, user_agent: str = "statuspage-webhooks/1"):
        self.user_agent = user_agent
        self._session: requests.Session | None = None

    def open(self) -> None:
        if self._session is None:
            self._session = requests.Session()

    def send(self, url: str, body: bytes, secret: str | None) -> None:
        self.open()
        assert self._session is not None
        headers = {"Content-Type": "application/json", "User-Agent": self.user_agent}
        if secret:
            ts = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = ts
            headers[SIGNATURE_HEADER] = sign(secret, ts, body)
        try:
            resp = self._session.post(url, data=body, headers=headers, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                                      allow_redirects=False)
        except requests.Timeout:
            raise DeliveryError(f"timed out posting to {url}", permanent=False) from None
        except requests.RequestException as exc:
            raise DeliveryError(f"cannot post to {url}: {type(exc).__name__}", permanent=False) from None
        if 200 <= resp.status_code < 300:
            return
        snippet = resp.text[:200].replace("\r", " ").replace("\n", " ")
        permanent = resp.status_code < 500 and resp.status_code not in _TRANSIENT_STATUS
        raise DeliveryError(f"HTTP {resp.status_code} from {url}: {snippet}", permanent=permanent,
                            code=resp.status_code)

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()
