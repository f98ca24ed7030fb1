"""The agent's side of the probe API: fetch a location's checks, post its results (see the contract in README).

``GET {server}/api/v1/probe/<location>/checks`` and ``POST {server}/api/v1/probe/<location>/results``
with ``Authorization: Bearer <token>``. The server must be reached over HTTPS; plain HTTP is allowed
only to a loopback address (127.0.0.0/8, ::1, localhost), where nothing crosses a network. The CA
bundle is ``$STATUSPAGE_PROBE_CA_BUNDLE`` when set (a private CA), else requests' default.

:meth:`ProbeClient.post_results` never raises for what the server or the network does: it returns a
:class:`PostOutcome` whose ``action`` says what the agent does with the batch — ``ack`` (sent, or
can never be sent) or ``retry`` (keep it, try again later; ``auth`` marks a token problem).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import requests

__all__ = ["CA_BUNDLE_ENV", "ClientConfigError", "FetchError", "PostOutcome", "ProbeClient", "check_server_url"]

CA_BUNDLE_ENV = "STATUSPAGE_PROBE_CA_BUNDLE"
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0


class ClientConfigError(ValueError):
    """The agent was started with a server URL (or CA bundle) it must not or cannot use."""


class FetchError(Exception):
    """The list of checks could not be fetched; ``auth`` is true for 401/403 (a token problem)."""

    def __init__(self, message: str, *, status: int | None = None, auth: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.auth = auth


@dataclass
class PostOutcome:
    """What became of one POST of results, and what to do with the batch."""

    action: Literal["ack", "retry"]
    status: int | None  # None: no answer (connection error, timeout)
    message: str = ""
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    auth: bool = False  # 401/403: the token is wrong, revoked, or bound to another location
    too_large: bool = False  # 413: send fewer results per batch


def check_server_url(url: str) -> str:
    """``url`` without a trailing slash; raises :class:`ClientConfigError` unless it is https:// or loopback http://."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientConfigError(f"--server must be a URL like https://status.example.com (got {url!r})")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ClientConfigError(
            f"--server {url!r} uses plain http:// to a host that is not this machine: the probe token and "
            f"results would cross the network unencrypted. Use https:// (http:// is allowed only for "
            f"127.0.0.1, ::1 or localhost)."
        )
    return url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ProbeClient:
    """Talks to one server for one location with one probe token."""

    def __init__(
        self,
        server: str,
        location: str,
        token: str,
        *,
        ca_bundle: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        user_agent: str = "statuspage-probe-agent",
    ) -> None:
        self.server = check_server_url(server)
        self.location = location
        ca_bundle = ca_bundle if ca_bundle is not None else os.environ.get(CA_BUNDLE_ENV) or None
        if ca_bundle is not None and not os.path.isfile(ca_bundle):
            raise ClientConfigError(f"{CA_BUNDLE_ENV}={ca_bundle!r} is not a readable file")
        self.timeout = (connect_timeout, read_timeout)
        base = f"{self.server}/api/v1/probe/{quote(location, safe='')}"
        self.checks_url = f"{base}/checks"
        self.results_url = f"{base}/results"
        self._session = requests.Session()
        self._session.trust_env = False  # no proxy or .netrc from the environment: the token goes only here
        self._session.verify = ca_bundle if ca_bundle is not None else True
        self._session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": user_agent,
                                      "Accept": "application/json"})

    def fetch_checks(self) -> dict[str, Any]:
        """The server's answer to "which checks does this location run"; raises :class:`FetchError`."""
        try:
            response = self._session.get(self.checks_url, timeout=self.timeout)
        except requests.RequestException as exc:
            raise FetchError(f"cannot reach {self.server}: {_reason(exc)}") from None
        if response.status_code in (401, 403):
            raise FetchError(f"the server refused the probe token ({response.status_code}: {_error_text(response)})",
                             status=response.status_code, auth=True)
        if response.status_code != 200:
            raise FetchError(f"the server answered {response.status_code}: {_error_text(response)}",
                             status=response.status_code)
        try:
            payload = response.json()
        except ValueError:
            raise FetchError("the server's list of checks is not JSON", status=200) from None
        if not isinstance(payload, dict) or not isinstance(payload.get("checks"), list):
            raise FetchError("the server's list of checks has no 'checks' list", status=200)
        return payload

    def post_results(self, agent: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> PostOutcome:
        """Post one batch (empty: a heartbeat); never raises for network or server trouble."""
        body = {"agent": dict(agent), "results": list(results)}
        try:
            response = self._session.post(self.results_url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            return PostOutcome("retry", None, f"cannot reach {self.server}: {_reason(exc)}")
        status = response.status_code
        try:
            data = response.json()
        except ValueError:
            data = None
        data = data if isinstance(data, dict) else {}
        counts = {"accepted": _int(data.get("accepted")), "duplicates": _int(data.get("duplicates")),
                  "rejected": [r for r in data.get("rejected") or [] if isinstance(r, dict)]}
        if 200 <= status < 300:
            return PostOutcome("ack", status, "ok", **counts)
        if status in (401, 403):
            return PostOutcome("retry", status, f"the server refused the probe token: {_error_text(response)}",
                               auth=True)
        if status == 422 and counts["rejected"]:
            return PostOutcome("ack", status, f"some results were rejected: {_error_text(response)}", **counts)
        if status == 413:
            return PostOutcome("retry", status, "the batch is too large for the server", too_large=True)
        if status in (400, 415, 422):
            # Nothing was kept and sending the same batch again cannot help.
            return PostOutcome("ack", status, f"the server refused the batch: {_error_text(response)}", **counts)
        return PostOutcome("retry", status, f"the server answered {status}: {_error_text(response)}")

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _error_text(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return (response.text or response.reason or "").strip()[:200] or str(response.status_code)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or error)[:300]
    return str(data)[:200]


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error ({exc})"[:300]
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return f"{type(exc).__name__}: {exc}"[:300]
