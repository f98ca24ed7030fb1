"""Fixtures for the check engine: real targets on 127.0.0.1 and certificates made per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.probes import set_ca_bundle
from checks.spec import CheckSpec, parse_check_spec
from tests.support.certs import CertFiles, make_ca, make_cert
from tests.support.target import TargetServer


@pytest.fixture
def target() -> Iterator[TargetServer]:
    """A plain HTTP target server."""
    server = TargetServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("certs")


@pytest.fixture(scope="session")
def test_ca(cert_dir: Path) -> CertFiles:
    """A CA made for this test session (trusted only where a test says so)."""
    return make_ca(cert_dir / "ca")


@pytest.fixture(scope="session")
def self_signed_cert(cert_dir: Path) -> CertFiles:
    return make_cert(cert_dir / "self-signed")


@pytest.fixture
def tls_target(self_signed_cert: CertFiles) -> Iterator[TargetServer]:
    """An HTTPS target with a self-signed certificate for localhost and 127.0.0.1."""
    server = TargetServer(tls=self_signed_cert)
    yield server
    server.stop()


@pytest.fixture
def make_tls_target(cert_dir: Path) -> Iterator[Callable[..., TargetServer]]:
    """Start HTTPS targets with certificates made on demand: ``make_tls_target(expired=True, ca=ca)``."""
    servers: list[TargetServer] = []
    counter = iter(range(10_000))

    def start(**cert_options: Any) -> TargetServer:
        cert = make_cert(cert_dir / f"leaf-{next(counter)}-{id(servers)}", **cert_options)
        server = TargetServer(tls=cert)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def trust_test_ca(test_ca: CertFiles) -> Iterator[CertFiles]:
    """Make the probes trust ``test_ca`` (instead of the default bundle) for one test."""
    set_ca_bundle(str(test_ca.cert_path))
    yield test_ca
    set_ca_bundle(None)


def spec(**data: Any) -> CheckSpec:
    """A validated spec (fails the test with the validation errors otherwise)."""
    parsed, errors = parse_check_spec({"id": "t", **data})
    assert not errors, errors
    assert parsed is not None
    return parsed


@pytest.fixture
def make_spec() -> Callable[..., CheckSpec]:
    """``make_spec(kind="http", url=...)``: a validated :class:`CheckSpec`."""
    return spec
