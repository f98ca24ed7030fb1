"""Probes, one module per kind; :func:`run_probe` dispatches and guarantees a result."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from checks.probes._tls import set_ca_bundle
from checks.probes.dns import probe_dns
from checks.probes.heartbeat import evaluate_heartbeat, heartbeat_due_at
from checks.probes.http import probe_http
from checks.probes.tcp import probe_tcp
from checks.probes.tls import probe_tls
from checks.result import ProbeResult
from checks.spec import CheckSpec

__all__ = ["PROBES", "evaluate_heartbeat", "heartbeat_due_at", "run_probe", "set_ca_bundle"]

PROBES: dict[str, Callable[..., ProbeResult]] = {
    "http": probe_http,
    "tcp": probe_tcp,
    "dns": probe_dns,
    "tls": probe_tls,
}


def run_probe(spec: CheckSpec, *, now: datetime | None = None) -> ProbeResult:
    """Probe ``spec`` once and return its result; never raises.

    ``now`` is the wall-clock time to stamp the result with and to compute
    certificate expiry against (default: the current UTC time). Heartbeat
    checks are not probed: use :func:`evaluate_heartbeat`.
    """
    checked_at = now or datetime.now(UTC)
    probe = PROBES.get(spec.kind)
    if probe is None:
        result = ProbeResult(
            outcome="down",
            error_class="internal",
            message=f"kind {spec.kind!r} is not probed over the network"
            + (" (use evaluate_heartbeat)" if spec.kind == "heartbeat" else ""),
        )
    else:
        try:
            result = probe(spec, now=checked_at)
        except Exception as exc:  # the last line of defence: a probe never raises
            result = ProbeResult(outcome="down", error_class="internal", message=f"{type(exc).__name__}: {exc}")
    result.check_id = spec.id
    result.checked_at = checked_at
    return result
