"""TCP probe on asyncio streams: connect, optionally send bytes and read the answer, under a hard deadline."""

from __future__ import annotations

import asyncio
from datetime import datetime

from checks.conditions import Observation, evaluate_conditions
from checks.deadline import Deadline
from checks.probes._net import ProbeError, open_stream
from checks.probes.session import ProbeSession
from checks.result import ProbeResult, decide
from checks.spec import CheckSpec

__all__ = ["probe_tcp"]


async def probe_tcp(spec: CheckSpec, session: ProbeSession, *, now: datetime | None = None) -> ProbeResult:
    """Run one TCP probe for ``spec``; never raises (except on cancellation).

    ``[CONNECTED]`` is whether the connection opened. With ``send`` the bytes
    are sent, and with ``send`` or ``expect`` the answer is read (up to
    ``max_body_bytes``) into ``[BODY]`` until ``expect`` appears, the peer
    closes, or the deadline passes.
    """
    assert spec.host is not None and spec.port is not None
    obs = Observation(kind="tcp", connected=False)
    error: ProbeError | None = None
    deadline = Deadline(spec.timeout)
    data = bytearray()
    writer: asyncio.StreamWriter | None = None
    reading = False
    try:
        async with asyncio.timeout(spec.timeout):
            reader, writer, obs.ip = await open_stream(
                spec.host, spec.port, session.resolver, deadline, source_address=session.source_address
            )
            obs.connected = True
            if spec.send:
                deadline.phase = "send"
                writer.write(spec.send.encode())
                await writer.drain()
            if spec.send or spec.expect:
                deadline.phase = "read"
                reading = True
                await _read_answer(reader, spec, data)
    except TimeoutError:
        if reading:
            error = _read_timeout(spec, data)
        elif deadline.phase == "dns":
            error = ProbeError("dns", f"no DNS answer for host {spec.host!r} within the {spec.timeout:g}s timeout")
        elif deadline.phase == "connect":
            error = ProbeError("timeout", f"connect timeout after {spec.timeout:g}s to {deadline.peer}")
        else:
            error = ProbeError("timeout", f"could not send within the {spec.timeout:g}s timeout")
    except ProbeError as exc:
        error = exc
    except OSError as exc:
        error = ProbeError("connection", f"connection failed: {exc.strerror or exc}")
    except Exception as exc:  # a probe never raises
        error = ProbeError("internal", f"{type(exc).__name__}: {exc}")
    finally:
        if writer is not None:
            writer.transport.abort()  # nothing left to say; a hostile peer gets no graceful close to stall
    if reading:
        obs.body, obs.body_truncated = bytes(data), len(data) >= spec.max_body_bytes
    obs.response_time_ms = deadline.elapsed_ms()
    results = evaluate_conditions(spec.parsed_conditions(), obs)
    outcome, error_class, message = decide(
        results,
        error_class=error.error_class if error else None,
        error_message=error.message if error else None,
    )
    return ProbeResult(
        outcome=outcome,
        latency_ms=obs.response_time_ms,
        error_class=error_class,
        message=message,
        conditions=[r.to_dict() for r in results],
        observed={"host": spec.host, "port": spec.port, **obs.to_dict()},
    )


async def _read_answer(reader: asyncio.StreamReader, spec: CheckSpec, data: bytearray) -> None:
    """Read into ``data`` until ``expect`` is seen, EOF or ``max_body_bytes`` (the caller bounds the time)."""
    expect = spec.expect.encode() if spec.expect else None
    while len(data) < spec.max_body_bytes:
        if expect is not None and expect in data:
            return
        if expect is None and data:
            return  # no expectation: the first answer is enough
        chunk = await reader.read(min(65536, spec.max_body_bytes - len(data)))
        if not chunk:
            return
        data += chunk


def _read_timeout(spec: CheckSpec, data: bytearray) -> ProbeError | None:
    if spec.expect is None and data:
        return None
    what = f"{spec.expect!r}" if spec.expect else "answer"
    return ProbeError("timeout", f"no {what} within the {spec.timeout:g}s timeout ({len(data)} bytes read)")
