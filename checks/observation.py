"""What a probe saw: the facts that condition placeholders resolve against."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

__all__ = ["Observation"]


@dataclass
class Observation:
    """Facts gathered by one probe run; any fact a probe could not observe is ``None``.

    ``headers`` may be given with any case; lookups are case-insensitive.
    ``body`` holds at most the probe's ``max_body_bytes``; ``body_truncated``
    says whether more was sent.
    """

    kind: str = "http"
    status: int | None = None
    response_time_ms: float | None = None
    body: bytes | None = None
    body_truncated: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    connected: bool | None = None
    ip: str | None = None
    dns_rcode: str | None = None
    dns_answers: list[str] | None = None
    cert_expiry_s: float | None = None
    cert_chain_valid: bool | None = None
    cert_hostname_match: bool | None = None

    def __post_init__(self) -> None:
        self.headers = {str(k).lower(): str(v) for k, v in dict(self.headers).items()}

    def header(self, name: str) -> str | None:
        """Return the value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        value = self.headers.get(wanted)
        if value is None:  # headers assigned after construction may keep their original case
            value = next((v for k, v in self.headers.items() if k.lower() == wanted), None)
        return value

    @cached_property
    def body_text(self) -> str | None:
        """The body decoded as UTF-8 (undecodable bytes replaced), or ``None``."""
        if self.body is None:
            return None
        return self.body.decode("utf-8", errors="replace")

    @cached_property
    def body_json(self) -> tuple[bool, Any]:
        """``(True, value)`` when the body parses as JSON, else ``(False, reason)``."""
        if self.body is None:
            return False, "no body was received"
        try:
            return True, json.loads(self.body)
        except (ValueError, RecursionError) as exc:
            reason = f"body is not valid JSON ({_short_json_error(exc)})"
            if self.body_truncated:
                reason += f"; it was cut at {len(self.body)} bytes (max_body_bytes)"
            return False, reason

    def to_dict(self) -> dict[str, Any]:
        """Return the observed facts worth storing (no body), JSON-serializable."""
        out: dict[str, Any] = {}
        for key in (
            "status",
            "response_time_ms",
            "connected",
            "ip",
            "dns_rcode",
            "dns_answers",
            "cert_expiry_s",
            "cert_chain_valid",
            "cert_hostname_match",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.body is not None:
            out["body_bytes"] = len(self.body)
            out["body_truncated"] = self.body_truncated
        return out


def _short_json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc) or type(exc).__name__
