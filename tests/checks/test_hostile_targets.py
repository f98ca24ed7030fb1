"""Hundreds of probes at each kind of hostile target in flight at once; healthy probes still finish at once.

The hostile targets run in a process of their own (tests.support.hostile). Nothing here
measures wall-clock time: the healthy probes must all *finish before* the first hostile
probe times out, i.e. none of them waited behind a hanging one.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import Future

import pytest

from checks.probes import HostResolver
from checks.result import ProbeResult
from checks.runner import Runner
from checks.spec import CheckSpec
from tests.support.hostile import HostileTargets
from tests.support.target import free_port

pytestmark = pytest.mark.slow

PER_KIND = 150
HEALTHY = 300
HOSTILE_TIMEOUT = "8s"


@pytest.fixture(scope="module")
def hostile():
    with HostileTargets() as targets:
        yield targets


def hostile_specs(make_spec, hostile: HostileTargets) -> dict[str, list[CheckSpec]]:
    refused = free_port()
    t = {"timeout": HOSTILE_TIMEOUT, "interval": "30s"}
    tls_port, backlog_port = hostile.ports["tls_stall"], hostile.ports["backlog"]
    kinds = {
        "accepts, never answers": lambda i: dict(kind="http", url=hostile.url("tarpit", f"/{i}")),
        "drips a byte a second": lambda i: dict(kind="http", url=hostile.url("drip", f"/{i}")),
        "50 MB body": lambda i: dict(kind="http", url=hostile.url("huge", f"/{i}"), max_body_bytes="64KiB"),
        "redirect loop": lambda i: dict(kind="http", url=hostile.url("loop", "/a")),
        "TLS handshake stalls (https)": lambda i: dict(kind="http", url=f"https://127.0.0.1:{tls_port}/{i}"),
        "TLS handshake stalls (tls)": lambda i: dict(kind="tls", host="127.0.0.1", port=tls_port),
        "backlog full (http)": lambda i: dict(kind="http", url=f"http://127.0.0.1:{backlog_port}/{i}"),
        "backlog full (tcp)": lambda i: dict(kind="tcp", host="127.0.0.1", port=backlog_port),
        "DNS never answers (http)": lambda i: dict(kind="http", url=f"http://host{i}.silent.test:{backlog_port}/"),
        "DNS never answers (dns)": lambda i: dict(kind="dns", host=f"host{i}.silent.test",
                                                  nameserver=f"127.0.0.1:{hostile.ports['dns']}"),
        "refused": lambda i: dict(kind="http", url=f"http://127.0.0.1:{refused}/{i}"),
        "unresolvable .invalid": lambda i: dict(kind="http", url=f"http://host{i}.nonexistent.invalid/"),
    }
    return {
        name: [make_spec(id=f"hostile{k}-{i}", **build(i), **t) for i in range(PER_KIND)]
        for k, (name, build) in enumerate(kinds.items())
    }


EXPECTED = {
    # Accepted at once, the probe waits for the answer; on a loaded machine the accept itself may be what runs
    # out (the same for the dripping target below).
    "accepts, never answers": ("down", "timeout", ("no response from 127.0.0.1:", "no connection to 127.0.0.1:")),
    "drips a byte a second": ("down", "timeout", ("no complete response within the 8s timeout",
                                                  "no connection to 127.0.0.1:")),
    "50 MB body": ("up", None, "ok"),
    "redirect loop": ("down", "http", "redirect loop: "),
    "TLS handshake stalls (https)": ("down", "timeout", "(TCP connect or TLS handshake)"),
    "TLS handshake stalls (tls)": ("down", "timeout", "no TLS handshake within the 8s timeout"),
    "backlog full (http)": ("down", "timeout", "(TCP connect or TLS handshake)"),
    "backlog full (tcp)": ("down", "timeout", "connect timeout after 8s"),
    "DNS never answers (http)": ("down", "dns", "no DNS answer for host"),
    "DNS never answers (dns)": ("down", "timeout", "no DNS answer from 127.0.0.1:"),
    "refused": ("down", "refused", "connection refused by 127.0.0.1:"),
    "unresolvable .invalid": ("down", "dns", "cannot resolve host"),
}


HANG_UNTIL_TIMEOUT = {
    "accepts, never answers", "drips a byte a second", "TLS handshake stalls (https)", "TLS handshake stalls (tls)",
    "backlog full (http)", "backlog full (tcp)", "DNS never answers (http)", "DNS never answers (dns)",
}


def test_healthy_probes_finish_while_hundreds_of_each_hostile_target_hang(hostile, make_spec):
    by_kind = hostile_specs(make_spec, hostile)
    healthy = [make_spec(id=f"healthy-{i}", kind="http", url=hostile.url("healthy", f"/{i}"),
                         conditions=["[STATUS] == 200", "[BODY] == ok"]) for i in range(HEALTHY)]
    finished: list[str] = []  # check ids in the order their probes finished (appended on the loop's thread)
    lock = threading.Lock()

    def note(future: Future[ProbeResult], check_id: str) -> None:
        with lock:
            finished.append(check_id)

    # Host names resolve through a DNS server that swallows every query.
    resolver = HostResolver(nameservers=[("127.0.0.1", hostile.ports["dns"])])
    hostile_count = PER_KIND * len(by_kind)
    with Runner(max_in_flight=hostile_count + HEALTHY, resolver=resolver) as runner:
        futures: dict[str, tuple[str, Future[ProbeResult]]] = {}
        for kind, specs in by_kind.items():
            for spec in specs:
                futures[spec.id] = (kind, runner.submit(spec))
        # Every hostile probe is on the loop before the first healthy one is submitted.
        while runner.stats().started < hostile_count:
            threading.Event().wait(0.01)
        for spec in healthy:
            futures[spec.id] = ("healthy", runner.submit(spec))
        for check_id, (_, future) in futures.items():
            future.add_done_callback(lambda f, check_id=check_id: note(f, check_id))
        results = {check_id: (kind, future.result()) for check_id, (kind, future) in futures.items()}

    healthy_results = [r for kind, r in results.values() if kind == "healthy"]
    assert Counter(r.outcome for r in healthy_results) == {"up": HEALTHY}, {r.message for r in healthy_results}

    for kind, (outcome, error_class, text) in EXPECTED.items():
        got = [r for k, r in results.values() if k == kind]
        assert len(got) == PER_KIND
        assert Counter((r.outcome, r.error_class) for r in got) == {(outcome, error_class): PER_KIND}, (
            kind, Counter((r.outcome, r.error_class, r.message) for r in got).most_common(3))
        texts = text if isinstance(text, tuple) else (text,)
        wrong = {r.message for r in got if not any(t in r.message for t in texts)}
        assert not wrong, (kind, wrong)

    # No healthy probe waited behind a hanging one: all of them finished before the first probe that
    # ran into its 8 s deadline did.
    timed_out = {cid for cid, (kind, _) in results.items() if kind in HANG_UNTIL_TIMEOUT}
    last_healthy = max(i for i, cid in enumerate(finished) if cid.startswith("healthy-"))
    first_timeout = min(i for i, cid in enumerate(finished) if cid in timed_out)
    assert last_healthy < first_timeout
    huge = [r for k, r in results.values() if k == "50 MB body"]
    assert all(r.observed["body_bytes"] == 64 * 1024 and r.observed["body_truncated"] for r in huge)
