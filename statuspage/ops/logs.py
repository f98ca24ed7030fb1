"""Logs as JSON lines on request (STATUSPAGE_LOG_JSON=true), each web log line with a request id."""

from __future__ import annotations

import json
import logging
import secrets
import sys
import time

from flask import Flask, g, has_request_context, request


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if has_request_context():
            data["request_id"] = g.get("request_id")
            data["method"] = request.method
            data["path"] = request.path
        for key in ("status", "duration_ms", "remote_addr", "worker"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(json_lines: bool) -> None:
    """Root logging for our processes: JSON lines or a readable format, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_statuspage", False):
            root.removeHandler(h)
    handler._statuspage = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def init_request_ids(app: Flask) -> None:
    """Every request gets an id (from X-Request-ID when it is sane, else new), echoed in the response."""
    log = logging.getLogger("statuspage.request")

    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 100 and incoming.isprintable() else secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(resp):
        rid = g.get("request_id")
        if rid:
            resp.headers["X-Request-ID"] = rid
        started = g.get("request_started")
        if started is not None and app.extensions["statuspage.settings"].log_json:
            log.info("request", extra={"status": resp.status_code, "remote_addr": request.remote_addr,
                                       "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
        return resp
