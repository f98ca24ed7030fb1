"""What the probes on one event loop share: an HTTP client that never reuses a connection, and a resolver.

One ``aiohttp.ClientSession`` over one ``TCPConnector(force_close=True)``:
every probe opens its own connection (a keep-alive connection that the server
dropped must never look like an outage) while the connector, its TLS
handling and the resolver are built once. The connector has no connection
limit of its own: how many probes run at once is the runner's bound. TLS
contexts come from :mod:`checks.probes._tls`, one per mode, passed per request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from types import TracebackType
from typing import Any

import aiohttp

from checks.deadline import current_deadline
from checks.probes._net import HostResolver

__all__ = ["USER_AGENT", "ProbeSession", "check_source_address"]

USER_AGENT = "statuspage-probe/1.0"


class _ProbeConnector(aiohttp.TCPConnector):
    """Notes on the probe's deadline what only the open connection knows: peer IP and certificate.

    aiohttp releases a connection as soon as a response without a body is read,
    so these facts are taken when the connection opens (after the TLS handshake).
    """

    async def _wrap_create_connection(self, *args: Any, **kwargs: Any) -> Any:
        transport, protocol = await super()._wrap_create_connection(*args, **kwargs)
        deadline = current_deadline()
        if deadline is not None:
            deadline.phase = "request"
            peer = transport.get_extra_info("peername")
            deadline.ip = str(peer[0]) if peer else None
            tls = transport.get_extra_info("ssl_object")
            deadline.cert_der = tls.getpeercert(binary_form=True) if tls is not None else None
        return transport, protocol


def check_source_address(source_address: str | None) -> str | None:
    """``source_address`` as a canonical IP text (``None`` stays ``None``); raises ``ValueError`` if not an IP."""
    if source_address is None or source_address == "":
        return None
    try:
        return str(ipaddress.ip_address(source_address.strip().strip("[]")))
    except ValueError:
        raise ValueError(f"source address {source_address!r} is not an IP address") from None


class ProbeSession:
    """Shared probe resources bound to the running event loop; use ``async with`` or :meth:`close`.

    ``source_address``: connect from this IP of the machine (default: the one the kernel picks).
    """

    def __init__(self, resolver: HostResolver | None = None, *, source_address: str | None = None) -> None:
        self.resolver = resolver or HostResolver()
        self.source_address = check_source_address(source_address)
        self._http: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        """The aiohttp session (created on first use, on the running loop)."""
        if self._http is None:
            self._loop = asyncio.get_running_loop()
            extra: dict[str, Any] = {}
            if self.source_address is not None:
                extra["local_addr"] = (self.source_address, 0)
                extra["family"] = socket.AF_INET6 if ":" in self.source_address else socket.AF_INET
            connector = _ProbeConnector(
                **extra,
                force_close=True,
                limit=0,
                limit_per_host=0,
                use_dns_cache=False,  # our resolver caches, bounded by each probe's own deadline
                resolver=self.resolver.aiohttp_resolver(),
                enable_cleanup_closed=False,
            )
            self._http = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": USER_AGENT, "Connection": "close"},
                cookie_jar=aiohttp.DummyCookieJar(),  # probes never share state through cookies
                trust_env=False,  # probes go direct: no proxy from the environment
                timeout=aiohttp.ClientTimeout(total=None),  # each request sets its own
                auto_decompress=True,
                requote_redirect_url=False,
            )
        return self._http

    async def close(self) -> None:
        """Close the HTTP session and its connector."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> ProbeSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
