"""Shared TLS contexts (built once) and certificate facts.

Loading the CA bundle costs ~20 ms of CPU; doing it per connection (requests'
default) makes HTTPS probes ~13x more expensive. Every probe shares one
verifying and one non-verifying :class:`ssl.SSLContext`.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import threading
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = [
    "certificate_facts",
    "hostname_matches",
    "insecure_context",
    "set_ca_bundle",
    "verifying_context",
]

_lock = threading.Lock()
_contexts: dict[str, ssl.SSLContext] = {}
_ca_bundle: str | None = None
_generation = 0


def set_ca_bundle(path: str | None) -> None:
    """Trust the CA certificates in ``path`` (PEM) instead of the default bundle; ``None`` resets.

    The default is ``$REQUESTS_CA_BUNDLE``, else ``$SSL_CERT_FILE``, else certifi's
    bundle, else the system store. Contexts are rebuilt on next use.
    """
    global _ca_bundle, _generation
    with _lock:
        _ca_bundle = path
        _contexts.clear()
        _generation += 1


def generation() -> int:
    """A number that changes whenever the contexts are rebuilt (sessions built on older ones are stale)."""
    return _generation


def _default_bundle() -> str | None:
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        path = os.environ.get(name)
        if path and os.path.isfile(path):
            return path
    try:
        import certifi

        return certifi.where()
    except ImportError:  # pragma: no cover - certifi comes with requests
        return None


def verifying_context() -> ssl.SSLContext:
    """The shared context that verifies the chain and the host name."""
    return _context("verify")


def chain_only_context() -> ssl.SSLContext:
    """The shared context that verifies the chain but not the host name (checked separately)."""
    return _context("chain")


def insecure_context() -> ssl.SSLContext:
    """The shared context that verifies nothing (``verify_tls: false``, or to read an invalid cert)."""
    return _context("none")


def _context(kind: str) -> ssl.SSLContext:
    ctx = _contexts.get(kind)
    if ctx is not None:
        return ctx
    with _lock:
        ctx = _contexts.get(kind)
        if ctx is None:
            if kind == "none":
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            else:
                bundle = _ca_bundle or _default_bundle()
                ctx = ssl.create_default_context(cafile=bundle) if bundle else ssl.create_default_context()
                if kind == "chain":
                    ctx.check_hostname = False
            ctx.set_alpn_protocols(["http/1.1"])
            _contexts[kind] = ctx
    return ctx


def certificate_facts(der: bytes, hostname: str, now: datetime | None = None) -> dict[str, object]:
    """Facts about a DER certificate: seconds to expiry, subject, issuer, SANs, hostname match."""
    cert = x509.load_der_x509_certificate(der)
    now = now or datetime.now(UTC)
    not_after = cert.not_valid_after_utc
    names = _dns_names(cert)
    ips = _ip_names(cert)
    return {
        "cert_expiry_s": (not_after - now).total_seconds(),
        "cert_not_after": not_after.isoformat(),
        "cert_not_before": cert.not_valid_before_utc.isoformat(),
        "cert_subject": cert.subject.rfc4514_string(),
        "cert_issuer": cert.issuer.rfc4514_string(),
        "cert_names": names + ips,
        "cert_hostname_match": hostname_matches(hostname, names, ips, _common_name(cert)),
    }


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in ext.value.get_values_for_type(x509.DNSName)]


def _ip_names(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)]


def _common_name(cert: x509.Certificate) -> str | None:
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = attrs[0].value if attrs else None
    return value.lower() if isinstance(value, str) else None


def hostname_matches(hostname: str, dns_names: list[str], ips: list[str], common_name: str | None = None) -> bool:
    """RFC 6125 matching: SANs only (common name only when there are no SANs), one-label wildcards."""
    host = hostname.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
        return any(ipaddress.ip_address(ip) == address for ip in ips)
    except ValueError:
        pass
    candidates = dns_names or ([common_name] if common_name and not ips else [])
    return any(_match_one(host, pattern.rstrip(".")) for pattern in candidates)


def _match_one(host: str, pattern: str) -> bool:
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    suffix = pattern[1:]  # ".example.com"
    if not host.endswith(suffix):
        return False
    label = host[: -len(suffix)]
    return bool(label) and "." not in label and suffix.count(".") >= 2
