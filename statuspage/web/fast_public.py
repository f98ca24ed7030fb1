"""Serve cached public responses before Flask's request pipeline runs.

During an outage everyone asks for the same few pages. Once a public view has rendered a path for the
current site version, later GET/HEAD requests for that path are answered here, in the WSGI layer, from
the per-process render cache: the site version (one primary-key read, memoised for at most
``STATUSPAGE_VERSION_CHECK_INTERVAL`` seconds) and a dictionary lookup — no session, limiter, login
or template work. Revalidation (ETag / Last-Modified → 304) and content coding (gzip / brotli, from the
entry's encodings computed once) work the same as in the view. Anything not in the cache, or not a
public cached path, goes to Flask unchanged.
"""

from __future__ import annotations

import time
from typing import Any

from ..db import write_intent
from ..services.site.public import monitoring_delayed
from .public_cache import (
    EXPORT_ENVIRON_KEY,
    PathMeta,
    cache_state,
    canonical_path,
    etag_matches,
    not_modified_since,
    validators,
)
from .security_headers import HSTS, PUBLIC_HEADERS


class FastPublicCache:
    """WSGI middleware in front of ``app.wsgi_app``."""

    def __init__(self, app: Any):
        self.app = app
        self.next = app.wsgi_app

    def __call__(self, environ: dict, start_response):
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or EXPORT_ENVIRON_KEY in environ:
            return self.next(environ, start_response)
        path = environ.get("PATH_INFO") or "/"
        paths: dict[str, PathMeta] | None = self.app.extensions.get("statuspage.public_paths")
        meta = paths.get(path) if paths else None
        if meta is None:
            return self.next(environ, start_response)
        # Unknown query parameters do not make a new variant (public_cache.canonical_path).
        full = canonical_path(path, environ.get("QUERY_STRING") or "", meta.params)
        # A read: never take SQLite's write lock here (that would queue behind any writer).
        intent = write_intent.set(False)
        try:
            with self.app.app_context():
                cache, site = cache_state()
                version, changed_at = site.read()
                delayed = monitoring_delayed()
        finally:
            write_intent.reset(intent)
        minute = int(time.time() // 60) if meta.time_sensitive else 0
        entry = cache.peek((version, minute, full, delayed))
        if entry is None:
            return self.next(environ, start_response)
        etag, last_modified, common = validators(version, changed_at, minute, full, meta, self.app, delayed)
        inm = environ.get("HTTP_IF_NONE_MATCH")
        ims = environ.get("HTTP_IF_MODIFIED_SINCE")
        security = [*PUBLIC_HEADERS, HSTS] if environ.get("wsgi.url_scheme") == "https" else list(PUBLIC_HEADERS)
        if (inm is not None and etag_matches(inm, etag)) or (
                inm is None and ims is not None and not_modified_since(ims, last_modified)):
            start_response("304 Not Modified", [*common, ("Vary", "Accept-Encoding"), *security])
            return [b""]
        body, coding_headers = entry.payload(environ.get("HTTP_ACCEPT_ENCODING"))
        headers = [("Content-Type", entry.content_type), ("Content-Length", str(len(body))),
                   *entry.headers, *coding_headers, *common, *security]
        start_response("200 OK", headers)
        return [b""] if method == "HEAD" else [body]
