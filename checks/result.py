"""The outcome of one probe run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checks.conditions import ConditionResult, Outcome, summarize

__all__ = ["ERROR_CLASSES", "OUTCOMES", "ProbeResult", "decide"]

OUTCOMES = ("up", "degraded", "down")
ERROR_CLASSES = ("timeout", "dns", "refused", "tls", "http", "condition", "connection", "internal")


@dataclass
class ProbeResult:
    """What one probe run found. Probes always return one; they never raise.

    ``outcome`` is ``up``, ``degraded`` or ``down``. ``error_class`` says why a
    run was not up: ``timeout``, ``dns``, ``refused``, ``tls``, ``http``,
    ``condition``, ``connection`` or ``internal``. ``message`` is for humans:
    the first failing condition's resolved text, or the transport error.
    ``conditions`` holds every condition's :meth:`ConditionResult.to_dict`.
    """

    outcome: Outcome
    latency_ms: float = 0.0
    status_code: int | None = None
    error_class: str | None = None
    message: str = ""
    conditions: list[dict[str, Any]] = field(default_factory=list)
    observed: dict[str, Any] = field(default_factory=dict)
    check_id: str = ""
    checked_at: datetime | None = None
    reprobed: bool = False

    @property
    def ok(self) -> bool:
        """True when the outcome is ``up``."""
        return self.outcome == "up"

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-serializable data (``checked_at`` as ISO 8601)."""
        return {
            "check_id": self.check_id,
            "outcome": self.outcome,
            "latency_ms": round(self.latency_ms, 3),
            "status_code": self.status_code,
            "error_class": self.error_class,
            "message": self.message,
            "conditions": list(self.conditions),
            "observed": dict(self.observed),
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
            "reprobed": self.reprobed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeResult:
        """Rebuild a result stored with :meth:`to_dict`."""
        checked_at = data.get("checked_at")
        return cls(
            outcome=data["outcome"],
            latency_ms=float(data.get("latency_ms") or 0.0),
            status_code=data.get("status_code"),
            error_class=data.get("error_class"),
            message=data.get("message") or "",
            conditions=list(data.get("conditions") or []),
            observed=dict(data.get("observed") or {}),
            check_id=data.get("check_id") or "",
            checked_at=datetime.fromisoformat(checked_at) if checked_at else None,
            reprobed=bool(data.get("reprobed")),
        )


def decide(
    results: list[ConditionResult],
    *,
    error_class: str | None = None,
    error_message: str | None = None,
) -> tuple[Outcome, str | None, str]:
    """Combine condition results and a transport error into ``(outcome, error_class, message)``.

    Conditions decide the outcome. When they fail and the probe also saw a
    transport error (refused, timeout, ...), that error is the class and its
    message leads, since it is the cause; otherwise the class is ``condition``
    and the message is the first decisive condition's resolved text.
    """
    outcome, decisive = summarize(results)
    if outcome == "up":
        return "up", None, "ok"
    assert decisive is not None
    if error_class is not None:
        message = error_message or decisive.message
        return outcome, error_class, message
    return outcome, "condition", decisive.message


def now_utc() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)
