"""Caching of public responses: every public response is a function of the site version.

Per request: one indexed read of the ``site_version`` row (primary key), then either a 304 (ETag /
Last-Modified revalidation) or a copy of the bytes rendered earlier by this process for the same
(site version, canonical path[, current minute]).

The key is canonical: the path plus only the query parameters the view declares (``params``), in a
fixed order. Anything else in the query string (``/?r=<random>``, tracking tags) is ignored for
caching — the view never reads it, so every variant is the same page — and never causes a render. Pages that show uptime also change with time
(today's bar grows), so their key and ETag include the current UTC minute; the uptime rollup job
bumps the site version when a day's figures change.

The cache is per process and bounded (LRU on entries); entries of an older version are dropped as soon
as a newer version is seen.

Compression: an entry keeps its body once and its gzip and brotli encodings, each computed the first
time a client asks for it and then reused until the entry is replaced (so at most once per site
version, path and minute). Responses of compressible types carry ``Vary: Accept-Encoding``; the
chosen encoding is the only request header that changes the bytes, and it is negotiated per request
rather than being part of the key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from functools import wraps
from urllib.parse import parse_qsl, urlencode

from flask import Response, current_app, request
from sqlalchemy import select

from ..compression import compress, is_compressible, negotiate
from ..extensions import db
from ..models import SiteVersion
from ..services.page import local_changes
from ..services.site import public as ps
from ..services.site.export import EXPORT_ENVIRON_KEY
from .sessions import PublicURLSessionInterface

_VERSION_QUERY = select(SiteVersion.version, SiteVersion.changed_at).where(SiteVersion.id == 1)


PUBLIC_ENVIRON_KEY = "statuspage.public_response"


class PublicAwareSessionInterface(PublicURLSessionInterface):
    """The session cookie of web/sessions.py (``Secure`` from the public URL), except that a cached public response never carries `Vary: Cookie`.

    Flask-Login reads the session on every template render and after every request, so Flask marks
    it accessed and adds `Vary: Cookie` to everything. A public body is the same for everyone (the
    render cache hands it to anyone), and that header would keep shared caches (CDNs) from storing it.
    A session that was changed is still saved.
    """

    def save_session(self, app, session, response) -> None:
        if request.environ.get(PUBLIC_ENVIRON_KEY) and not session.modified:
            return
        super().save_session(app, session, response)


@dataclass(frozen=True)
class PathMeta:
    """How a cached public path is validated: does it change with the minute, does it allow CORS."""

    time_sensitive: bool
    cors: bool
    params: tuple[str, ...] = ()  # the query parameters the view reads; the rest are ignored


def canonical_path(path: str, query: str, params: tuple[str, ...]) -> str:
    """``path`` plus the declared ``params`` found in ``query`` (first value each, in declared order)."""
    if not params or not query:
        return path
    found: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in params and name not in found:
            found[name] = value
    if not found:
        return path
    return path + "?" + urlencode([(name, found[name]) for name in params if name in found])


MAX_FAST_PATHS = 10_000


@dataclass(frozen=True)
class CachedResponse:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...]
    # Encodings computed so far (coding → bytes); filled on first demand, then reused.
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def compressible(self) -> bool:
        return is_compressible(self.content_type, len(self.body))

    def payload(self, accept_encoding: str | None) -> tuple[bytes, list[tuple[str, str]]]:
        """(body, extra headers) for a request's Accept-Encoding: the encoded bytes with Content-Encoding
        and Vary, or the plain body (with Vary, when another request could have got it encoded)."""
        if not self.compressible:
            return self.body, []
        coding = negotiate(accept_encoding)
        if coding is None:
            return self.body, [("Vary", "Accept-Encoding")]
        data = self.encoded.get(coding)
        if data is None:
            # Two threads may both compress the first time; they store the same bytes (dict writes are atomic).
            data = self.encoded[coding] = compress(self.body, coding)
        return data, [("Content-Encoding", coding), ("Vary", "Accept-Encoding")]


class RenderCache:
    """A bounded, thread-safe LRU of rendered responses keyed by (version, minute, path)."""

    def __init__(self, max_entries: int = 512):
        self.max_entries = max_entries
        self._data: OrderedDict[tuple, CachedResponse] = OrderedDict()
        self._lock = threading.Lock()
        self._version = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> CachedResponse | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return entry

    def peek(self, key: tuple) -> CachedResponse | None:
        """A lookup for the WSGI fast path: no LRU bookkeeping, no lock (dict reads are atomic)."""
        return self._data.get(key)

    def put(self, key: tuple, entry: CachedResponse) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            version = key[0]
            if version > self._version:
                # Everything older is stale for good: drop it now rather than waiting for LRU.
                self._data = OrderedDict((k, v) for k, v in self._data.items() if k[0] >= version)
                self._version = version
            self._data[key] = entry
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class SiteState:
    """The site version and when it changed, read with one primary-key lookup (optionally memoised)."""

    def __init__(self, interval: float = 0.0):
        self.interval = interval
        self._cached: tuple[float, int, dt.datetime, int] | None = None
        self._lock = threading.Lock()

    def read(self) -> tuple[int, dt.datetime]:
        cached = self._cached
        if (self.interval > 0 and cached is not None and time.monotonic() - cached[0] < self.interval
                and cached[3] == local_changes()):
            return cached[1], cached[2]
        # A plain connection and a pre-compiled statement, not the ORM session: this read is all a
        # cached request costs, so it must stay a few dozen microseconds.
        with db.engine.connect() as conn:
            row = conn.execute(_VERSION_QUERY).first()
        if row is None:
            version, changed_at = 1, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        else:
            version, changed_at = int(row[0]), row[1]
        with self._lock:
            self._cached = (time.monotonic(), version, changed_at, local_changes())
        return version, changed_at


def cache_state() -> tuple[RenderCache, SiteState]:
    ext = current_app.extensions
    if "statuspage.render_cache" not in ext:
        settings = ext["statuspage.settings"]
        ext["statuspage.render_cache"] = RenderCache(settings.render_cache_entries)
        ext["statuspage.site_state"] = SiteState(settings.version_check_interval)
    return ext["statuspage.render_cache"], ext["statuspage.site_state"]


def render_cache() -> RenderCache:
    """This process's render cache (for tests and metrics)."""
    return cache_state()[0]


def cache_control() -> str:
    settings = current_app.extensions["statuspage.settings"]
    return (f"public, max-age={settings.public_max_age}, "
            f"stale-while-revalidate={settings.public_stale_while_revalidate}")


def etag_matches(header: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 §8.8.3.2): W/ prefixes are ignored.
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def not_modified_since(header: str, last_modified: dt.datetime) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since is None:
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return last_modified.replace(microsecond=0) <= since


def validators(version: int, changed_at: dt.datetime, minute: int, path: str, meta: PathMeta,
               app=None, delayed: bool = False) -> tuple[str, dt.datetime, list[tuple[str, str]]]:
    """(ETag, Last-Modified, common headers) of a public response — shared by the view and the fast path."""
    tag = hashlib.blake2b(path.encode(), digest_size=6).hexdigest() + ("-stale" if delayed else "")
    etag = f'W/"v{version}-{minute}-{tag}"' if meta.time_sensitive else f'W/"v{version}-{tag}"'
    last_modified = changed_at
    if meta.time_sensitive:
        last_modified = max(changed_at, dt.datetime.fromtimestamp(minute * 60, dt.UTC))
    settings = (app or current_app).extensions["statuspage.settings"]
    common = [("ETag", etag),
              ("Last-Modified", format_datetime(last_modified.astimezone(dt.UTC), usegmt=True)),
              ("Cache-Control", f"public, max-age={settings.public_max_age}, "
                                f"stale-while-revalidate={settings.public_stale_while_revalidate}")]
    if meta.cors:
        common.append(("Access-Control-Allow-Origin", "*"))
    return etag, last_modified, common


def public_cached(time_sensitive: bool = False, cors: bool = False, params: tuple[str, ...] = ()) -> Callable:
    """Wrap a public GET view: ETag/Last-Modified/304, Cache-Control and the per-process render cache.

    ``time_sensitive``: the body also depends on the current minute (uptime bars and percentages).
    ``cors``: add ``Access-Control-Allow-Origin: *`` (the /api/v2 JSON and badges).
    ``params``: the query parameters the view reads (the cache key holds only these).
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if request.environ.get(EXPORT_ENVIRON_KEY) is not None:
                resp = current_app.make_response(view(*args, **kwargs))
                if cors:
                    resp.headers["Access-Control-Allow-Origin"] = "*"
                return resp
            cache, site = cache_state()
            version, changed_at = site.read()
            minute = int(time.time() // 60) if time_sensitive else 0
            meta = PathMeta(time_sensitive, cors, params)
            path = canonical_path(request.path, request.query_string.decode("latin-1"), params)
            delayed = ps.monitoring_delayed()
            etag, last_modified, common = validators(version, changed_at, minute, path, meta, delayed=delayed)
            inm = request.headers.get("If-None-Match")
            ims = request.headers.get("If-Modified-Since")
            if (inm is not None and etag_matches(inm, etag)) or (
                    inm is None and ims is not None and not_modified_since(ims, last_modified)):
                return Response(status=304, headers=[*common, ("Vary", "Accept-Encoding")])
            key = (version, minute, path, delayed)
            entry = cache.get(key)
            if entry is None:
                resp = current_app.make_response(view(*args, **kwargs))
                if resp.status_code != 200 or resp.direct_passthrough:
                    for name, value in common if resp.status_code == 200 else ():
                        resp.headers[name] = value
                    return resp
                keep = tuple((k, v) for k, v in resp.headers.items()
                             if k.lower() not in ("content-length", "content-type", "etag", "last-modified",
                                                  "cache-control", "set-cookie", "vary"))
                entry = CachedResponse(200, resp.get_data(), resp.content_type or "text/html; charset=utf-8", keep)
                cache.put(key, entry)
                paths = current_app.extensions.setdefault("statuspage.public_paths", {})
                if len(paths) < MAX_FAST_PATHS:
                    paths[request.path] = meta  # later requests for it are answered by web.fast_public
            request.environ[PUBLIC_ENVIRON_KEY] = True
            body, coding_headers = entry.payload(request.headers.get("Accept-Encoding"))
            out = Response(body, status=entry.status, content_type=entry.content_type,
                           headers=[*entry.headers, *coding_headers])
            for name, value in common:
                out.headers[name] = value
            return out

        wrapped.public_cached = True
        return wrapped

    return decorator
