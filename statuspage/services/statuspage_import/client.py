"""A small HTTP client for Statuspage's management API (or ours, which speaks the same).

Statuspage allows one request a second per key and answers 420 or 429 past that. The client spaces
requests by ``min_interval`` and, on 420/429, waits for ``Retry-After`` (or an exponential backoff)
and tries again; server errors and dropped connections are retried the same way. Any other error
ends the import with a message that says what went wrong.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

DEFAULT_API_URL = "https://api.statuspage.io/v1"
RETRY_STATUSES = (420, 429, 500, 502, 503, 504)


class StatuspageApiError(RuntimeError):
    """The source API refused a request for good (bad key, unknown page, …) or kept failing."""


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0


class StatuspageClient:
    """GET requests to ``{api_url}/pages/{page_id}/…`` with rate limiting and retries."""

    def __init__(self, api_url: str, api_key: str, page_id: str, *, min_interval: float = 1.0,
                 max_retries: int = 8, backoff: float = 2.0, max_backoff: float = 120.0, timeout: float = 60.0,
                 session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, on_retry: Callable[[str], None] | None = None):
        if not api_key:
            raise StatuspageApiError("no API key: set STATUSPAGE_IMPORT_API_KEY")
        self.api_url = api_url.rstrip("/")
        self.page_id = page_id
        self.min_interval = max(0.0, min_interval)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"OAuth {api_key}", "Accept": "application/json",
                                     "User-Agent": "statuspage-import/1"})
        self.sleep = sleep
        self.clock = clock
        self.on_retry = on_retry
        self.stats = ClientStats()
        self._last = float("-inf")

    def _pace(self) -> None:
        wait = self._last + self.min_interval - self.clock()
        if wait > 0:
            self.sleep(wait)
            self.stats.waited_seconds += wait
        self._last = self.clock()

    def _retry_after(self, resp: requests.Response | None, attempt: int) -> float:
        header = resp.headers.get("Retry-After") if resp is not None else None
        if header:
            try:
                return min(self.max_backoff, max(0.0, float(header)))
            except ValueError:
                parsed = email.utils.parsedate_to_datetime(header) if header else None
                if parsed is not None:
                    return min(self.max_backoff, max(0.0, parsed.timestamp() - time.time()))
        return min(self.max_backoff, self.backoff * (2 ** attempt))

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """The decoded JSON answer of a GET of ``path`` below the API URL."""
        url = f"{self.api_url}{path}"
        for attempt in range(self.max_retries + 1):
            self._pace()
            self.stats.requests += 1
            resp: requests.Response | None = None
            try:
                resp = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"{type(exc).__name__}"
            else:
                if resp.status_code == 200:
                    try:
                        return resp.json()
                    except ValueError:
                        raise StatuspageApiError(f"GET {path}: the answer is not JSON") from None
                if resp.status_code not in RETRY_STATUSES:
                    raise StatuspageApiError(f"GET {path}: HTTP {resp.status_code} {_message(resp)}")
                problem = f"HTTP {resp.status_code}"
            if attempt == self.max_retries:
                raise StatuspageApiError(f"GET {path}: still failing after {attempt + 1} tries ({problem})")
            delay = self._retry_after(resp, attempt)
            self.stats.retries += 1
            if self.on_retry is not None:
                self.on_retry(f"GET {path}: {problem}; retrying in {delay:.1f}s")
            self.sleep(delay)
            self.stats.waited_seconds += delay
        raise AssertionError("unreachable")

    def page_path(self, suffix: str = "") -> str:
        return f"/pages/{self.page_id}{suffix}"

    def pages(self, suffix: str, *, params: dict[str, Any] | None = None, size: int = 100,
              size_param: str = "per_page", first_page: int = 1, max_pages: int = 100_000) -> Iterator[list[Any]]:
        """Each page of a paginated list, until a page comes back shorter than ``size``."""
        for number in range(first_page, first_page + max_pages):
            batch = self.get(self.page_path(suffix), {**(params or {}), size_param: size, "page": number})
            if not isinstance(batch, list):
                raise StatuspageApiError(f"GET {self.page_path(suffix)}: expected a list")
            if batch:
                yield batch
            if len(batch) < size:
                return


def _message(resp: requests.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(data, dict):
        return str(data.get("error") or data.get("message") or data)[:200]
    return str(data)[:200]
