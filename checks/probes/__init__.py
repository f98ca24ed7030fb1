"""Probes, one module per kind, all on asyncio; :func:`probe` dispatches and guarantees a result.

:func:`probe` runs on an event loop with a shared :class:`ProbeSession` (the
runner's); :func:`run_probe` is the synchronous wrapper for one-off use (the
``statuspage checks run-once`` command, tests): it starts a loop and a session
for the one probe.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from checks.probes._net import HostResolver
from checks.probes._tls import set_ca_bundle
from checks.probes.dns import probe_dns
from checks.probes.heartbeat import evaluate_heartbeat, heartbeat_due_at
from checks.probes.http import probe_http
from checks.probes.session import ProbeSession
from checks.probes.tcp import probe_tcp
from checks.probes.tls import probe_tls
from checks.result import ProbeResult
from checks.spec import CheckSpec

__all__ = [
    "PROBES",
    "HostResolver",
    "ProbeSession",
    "evaluate_heartbeat",
    "heartbeat_due_at",
    "probe",
    "run_probe",
    "set_ca_bundle",
]

PROBES: dict[str, Callable[..., Awaitable[ProbeResult]]] = {
    "http": probe_http,
    "tcp": probe_tcp,
    "dns": probe_dns,
    "tls": probe_tls,
}


async def probe(spec: CheckSpec, session: ProbeSession, *, now: datetime | None = None) -> ProbeResult:
    """Probe ``spec`` once on the running loop and return its result; never raises (but can be cancelled).

    ``now`` is the wall-clock time to stamp the result with and to compute
    certificate expiry against (default: the current UTC time). Heartbeat
    checks are not probed: use :func:`evaluate_heartbeat`.
    """
    checked_at = now or datetime.now(UTC)
    run = PROBES.get(spec.kind)
    if run is None:
        result = ProbeResult(
            outcome="down",
            error_class="internal",
            message=f"kind {spec.kind!r} is not probed over the network"
            + (" (use evaluate_heartbeat)" if spec.kind == "heartbeat" else ""),
        )
    else:
        try:
            result = await run(spec, session, now=checked_at)
        except Exception as exc:  # the last line of defence: a probe never raises
            result = ProbeResult(outcome="down", error_class="internal", message=f"{type(exc).__name__}: {exc}")
    result.check_id = spec.id
    result.checked_at = checked_at
    return result


def run_probe(spec: CheckSpec, *, now: datetime | None = None, resolver: HostResolver | None = None) -> ProbeResult:
    """Probe ``spec`` once, synchronously, on a loop of its own; never raises.

    For one-off probes outside the runner. Called from a thread whose event
    loop is running (a test tool, an async server), it runs the probe on a
    thread of its own and waits for it: the caller's loop is never re-entered.
    """

    async def one() -> ProbeResult:
        async with ProbeSession(resolver) as session:
            return await probe(spec, session, now=now)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(one())
    results: list[ProbeResult] = []
    worker = threading.Thread(target=lambda: results.append(asyncio.run(one())), name="checks-run-probe")
    worker.start()
    worker.join()
    return results[0]
