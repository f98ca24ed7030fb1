"""A real HTTP server on 127.0.0.1 for the probe agent's tests: a fake statuspage server (targets: tests.support.target).

:class:`FakeProbeServer` implements the agent ↔ server contract of issue 14 (GET the location's
checks, POST results): it checks the bearer token and the location, applies a result only when its
slot is newer than the last one applied for that check (else counts a duplicate), and records every
row it was sent. ``mode`` makes it answer normally (``"ok"``), answer 503 (``"503"``), or drop every
connection without an answer (``"drop"``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeProbeServer", "Received"]


@dataclass
class Received:
    """One result row as the server received it, and what it did with it."""

    post: int
    row: dict[str, Any]
    applied: bool


@dataclass
class _State:
    token: str
    location: str
    checks: list[dict[str, Any]]
    mode: str = "ok"
    received: list[Received] = field(default_factory=list)
    applied: dict[int, list[str]] = field(default_factory=dict)
    agents: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: int = 0
    posts: int = 0
    fetches: int = 0
    refused_while_down: int = 0
    forced: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # answers for the next posts


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: _State
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def _error(self, status: int, code: str, message: str) -> None:
        self._answer(status, {"error": {"code": code, "message": message}})

    def _gate(self) -> bool:
        """Apply the mode and the token; True when the request may go on."""
        state = self.server.state
        if state.mode == "drop":
            self.close_connection = True
            self.connection.close()
            return False
        if state.mode == "503":
            with self.server.lock:
                state.refused_while_down += 1
            self._error(503, "unavailable", "down for the test")
            return False
        if self.headers.get("Authorization") != f"Bearer {state.token}":
            self._error(401, "unauthorized", "invalid token")
            return False
        return True

    def _location(self, suffix: str) -> str | None:
        prefix = "/api/v1/probe/"
        if not (self.path.startswith(prefix) and self.path.endswith(suffix)):
            return None
        return self.path[len(prefix):-len(suffix)]

    def do_GET(self) -> None:
        location = self._location("/checks")
        if location is None:
            self._error(404, "not_found", "no such path")
            return
        if not self._gate():
            return
        state = self.server.state
        if location != state.location:
            self._error(403, "forbidden", "token bound to another location")
            return
        with self.server.lock:
            state.fetches += 1
        self._answer(200, {"location": location, "stale_after_seconds": 120.0,
                           "server_time": "2026-12-01T04:00:00.000000+00:00", "checks": state.checks})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        location = self._location("/results")
        if location is None:
            self._error(404, "not_found", "no such path")
            return
        if not self._gate():
            return
        state = self.server.state
        if location != state.location:
            self._error(403, "forbidden", "token bound to another location")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._error(400, "bad_request", "not JSON")
            return
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            self._error(422, "validation_failed", "results must be a list")
            return
        with self.server.lock:
            state.posts += 1
            post = state.posts
            state.agents.append(body.get("agent") or {})
            results = body["results"]
            if not results:
                state.heartbeats += 1
            accepted = duplicates = 0
            for row in results:
                applied = state.applied.setdefault(int(row["check_id"]), [])
                fresh = not applied or row["slot"] > applied[-1]  # same offset and precision: text order is time order
                if fresh:
                    applied.append(row["slot"])
                    accepted += 1
                else:
                    duplicates += 1
                state.received.append(Received(post, row, fresh))
            forced = state.forced.pop(0) if state.forced else None
        if forced is not None:
            self._answer(*forced)
            return
        self._answer(200, {"accepted": accepted, "duplicates": duplicates, "rejected": []})


class FakeProbeServer:
    """The server side of the probe contract, for one location and one token."""

    def __init__(self, *, token: str, location: str, checks: list[dict[str, Any]]) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State(token=token, location=location, checks=checks)
        self._server.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def state(self) -> _State:
        return self._server.state

    def set_mode(self, mode: str) -> None:
        assert mode in ("ok", "503", "drop")
        self._server.state.mode = mode

    def answer_next_post(self, status: int, body: dict[str, Any]) -> None:
        """Record the next post as usual but answer it with ``status`` and ``body``."""
        with self._server.lock:
            self._server.state.forced.append((status, body))

    def applied(self, check_id: int) -> list[str]:
        with self._server.lock:
            return list(self._server.state.applied.get(check_id, []))

    def received(self) -> list[Received]:
        with self._server.lock:
            return list(self._server.state.received)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
