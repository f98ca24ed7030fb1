"""TCP probe: connect, optionally send bytes and read the answer, within hard deadlines."""

from __future__ import annotations

import socket
from datetime import datetime

from checks.conditions import Observation, evaluate_conditions
from checks.deadline import Deadline
from checks.probes._net import ProbeError, connect
from checks.result import ProbeResult, decide
from checks.spec import CheckSpec

__all__ = ["probe_tcp"]


def probe_tcp(spec: CheckSpec, *, now: datetime | None = None) -> ProbeResult:
    """Run one TCP probe for ``spec``; never raises.

    ``[CONNECTED]`` is whether the connection opened. With ``send`` the bytes
    are sent, and with ``send`` or ``expect`` the answer is read (up to
    ``max_body_bytes``) into ``[BODY]`` until ``expect`` appears, the peer
    closes, or the deadline passes.
    """
    assert spec.host is not None and spec.port is not None
    obs = Observation(kind="tcp", connected=False)
    error: ProbeError | None = None
    with Deadline(spec.timeout) as deadline:
        sock: socket.socket | None = None
        try:
            sock, obs.ip = connect(spec.host, spec.port, deadline, spec.timeout)
            obs.connected = True
            if spec.send:
                sock.settimeout(deadline.timeout())
                sock.sendall(spec.send.encode())
            if spec.send or spec.expect:
                obs.body, obs.body_truncated, error = _read_answer(sock, spec, deadline)
        except ProbeError as exc:
            error = exc
        except OSError as exc:
            error = ProbeError("timeout" if deadline.expired else "connection", f"connection failed: {exc}")
        except Exception as exc:  # a probe never raises
            error = ProbeError("internal", f"{type(exc).__name__}: {exc}")
        finally:
            if sock is not None:
                sock.close()
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


def _read_answer(
    sock: socket.socket, spec: CheckSpec, deadline: Deadline
) -> tuple[bytes, bool, ProbeError | None]:
    """Read until ``expect`` is seen, EOF, ``max_body_bytes`` or the deadline."""
    expect = spec.expect.encode() if spec.expect else None
    data = bytearray()
    while len(data) < spec.max_body_bytes:
        if expect is not None and expect in data:
            break
        if expect is None and data:
            break  # no expectation: the first answer is enough
        if deadline.remaining() <= 0:
            return bytes(data), False, _read_timeout(spec, data)
        sock.settimeout(deadline.timeout())
        try:
            chunk = sock.recv(min(65536, spec.max_body_bytes - len(data)))
        except TimeoutError:
            return bytes(data), False, _read_timeout(spec, data)
        except OSError:
            if deadline.expired:
                return bytes(data), False, _read_timeout(spec, data)
            raise
        if not chunk:
            if deadline.expired:
                return bytes(data), False, _read_timeout(spec, data)
            break
        data += chunk
    truncated = len(data) >= spec.max_body_bytes
    return bytes(data), truncated, None


def _read_timeout(spec: CheckSpec, data: bytearray) -> ProbeError | None:
    if spec.expect is None and data:
        return None
    what = f"{spec.expect!r}" if spec.expect else "answer"
    return ProbeError("timeout", f"no {what} within the {spec.timeout:g}s timeout ({len(data)} bytes read)")
