"""TLS probe: certificate expiry, host name match and chain validity as separate facts.

The handshake first verifies the chain (host name checked separately, so a
name mismatch and a bad chain are told apart). If the chain does not verify,
a second, non-verifying handshake still reads the certificate, so
``[CERT_EXPIRY]`` works for self-signed or expired certificates too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from datetime import datetime
from typing import Any

from checks.conditions import Observation, evaluate_conditions
from checks.deadline import Deadline
from checks.probes import _tls
from checks.probes._net import ProbeError, open_stream
from checks.probes.session import ProbeSession
from checks.result import ProbeResult, decide
from checks.spec import CheckSpec

__all__ = ["probe_tls"]


async def probe_tls(spec: CheckSpec, session: ProbeSession, *, now: datetime | None = None) -> ProbeResult:
    """Run one TLS probe for ``spec``; never raises (except on cancellation)."""
    assert spec.host is not None and spec.port is not None
    obs = Observation(kind="tls", connected=False)
    observed: dict[str, Any] = {"host": spec.host, "port": spec.port}
    error: ProbeError | None = None
    deadline = Deadline(spec.timeout)
    try:
        async with asyncio.timeout(spec.timeout):
            der, chain_error, ip, version = await _handshake(spec, session, deadline, _tls.chain_only_context())
            obs.connected, obs.ip = True, ip
            if der is None:
                der, _, ip, version = await _handshake(spec, session, deadline, _tls.insecure_context())
            obs.cert_chain_valid = chain_error is None
            if chain_error:
                observed["chain_error"] = chain_error
            if der:
                facts = _tls.certificate_facts(der, spec.host, now)
                obs.cert_expiry_s = float(facts.pop("cert_expiry_s"))  # type: ignore[arg-type]
                obs.cert_hostname_match = bool(facts.pop("cert_hostname_match"))
                observed.update(facts)
            observed["tls_version"] = version
    except TimeoutError:
        if deadline.phase == "dns":
            error = ProbeError("dns", f"no DNS answer for host {spec.host!r} within the {spec.timeout:g}s timeout")
        elif deadline.phase == "connect":
            error = ProbeError("timeout", f"connect timeout after {spec.timeout:g}s to {deadline.peer}")
        else:
            error = ProbeError("timeout", f"no TLS handshake within the {spec.timeout:g}s timeout")
    except ProbeError as exc:
        error = exc
    except Exception as exc:  # a probe never raises
        error = ProbeError("internal", f"{type(exc).__name__}: {exc}")
    obs.response_time_ms = deadline.elapsed_ms()
    results = evaluate_conditions(spec.parsed_conditions(), obs)
    transport = error or _tls_failure(obs, observed, [r.text for r in results if not r.ok])
    outcome, error_class, message = decide(
        results,
        error_class=transport.error_class if transport else None,
        error_message=transport.message if transport else None,
    )
    observed.update(obs.to_dict())
    return ProbeResult(
        outcome=outcome,
        latency_ms=obs.response_time_ms,
        error_class=error_class,
        message=message,
        conditions=[r.to_dict() for r in results],
        observed=observed,
    )


async def _handshake(
    spec: CheckSpec, session: ProbeSession, deadline: Deadline, context: ssl.SSLContext
) -> tuple[bytes | None, str | None, str, str | None]:
    """Connect and shake hands; return ``(der or None, chain error, ip, tls version)``.

    A certificate verification failure is returned, not raised: it is a fact
    about the certificate, not a failure to reach the server.
    """
    assert spec.host is not None and spec.port is not None
    _, writer, ip = await open_stream(
        spec.host, spec.port, session.resolver, deadline, source_address=session.source_address
    )
    deadline.phase = "tls"
    try:
        await writer.start_tls(
            context,
            server_hostname=None if _is_ip(spec.host) else spec.host,
            ssl_handshake_timeout=max(deadline.remaining(), 0.001),
        )
        tls = writer.get_extra_info("ssl_object")
        return tls.getpeercert(binary_form=True), None, ip, tls.version()
    except ssl.SSLCertVerificationError as exc:
        return None, str(exc.verify_message or exc), ip, None
    except ssl.SSLError as exc:
        reason = str(exc.reason or exc).lower().replace("_", " ")
        raise ProbeError("tls", f"TLS handshake failed: {reason}") from None
    except TimeoutError:
        raise  # the probe's deadline: reported by the caller
    except (ConnectionError, OSError) as exc:
        raise ProbeError("connection", f"connection failed during the TLS handshake: {exc}") from None
    finally:
        writer.transport.abort()


def _tls_failure(obs: Observation, observed: dict[str, Any], failing: list[str]) -> ProbeError | None:
    """Name the certificate problem when a failing condition is about it (else the condition speaks)."""
    about = " ".join(failing)
    if "CERT_EXPIRY" in about and obs.cert_expiry_s is not None and obs.cert_expiry_s <= 0:
        return ProbeError("tls", f"certificate expired on {observed.get('cert_not_after')}")
    if "CERT_CHAIN_VALID" in about and obs.cert_chain_valid is False:
        return ProbeError("tls", f"certificate chain not valid: {observed.get('chain_error')}")
    if "CERT_HOSTNAME_MATCH" in about and obs.cert_hostname_match is False:
        names = ", ".join(observed.get("cert_names") or []) or "none"
        return ProbeError("tls", f"certificate does not match the host name (names: {names})")
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False

