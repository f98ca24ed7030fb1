"""Serve a Flask app on 127.0.0.1 in a thread (a real HTTP server, for browsers and HTTP clients)."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server

from .smtp import free_port


class LiveServer:
    def __init__(self, app):
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
