"""The concurrent runner: ordering, streaming results, deadlines in the pool, re-probe on first failure."""

from __future__ import annotations

import time

from checks.result import ProbeResult
from checks.runner import Runner, probe_with_reprobe


def test_run_probes_concurrently_and_keeps_order(target, make_spec):
    target.set("*", delay=0.5)
    specs = [make_spec(kind="http", url=f"{target.url}/s{i}", id=f"c{i}") for i in range(20)]
    started = time.monotonic()
    with Runner(max_workers=32) as runner:
        results = runner.run(specs)
    assert time.monotonic() - started < 5  # 20 × 0.5 s one after another would take 10 s
    assert [r.check_id for r in results] == [s.id for s in specs]
    assert all(r.outcome == "up" for r in results)


def test_run_iter_yields_results_as_they_finish(target, make_spec):
    target.set("/slow", delay=1.0)
    target.set("/fast")
    specs = [make_spec(kind="http", url=target.url + "/slow", id="slow"),
             make_spec(kind="http", url=target.url + "/fast", id="fast")]
    with Runner(max_workers=4) as runner:
        order = [spec.id for spec, _ in runner.run_iter(specs)]
    assert order == ["fast", "slow"]


def test_hanging_targets_do_not_stall_the_pool(target, make_spec):
    target.set("/hang", hang=True)
    specs = [make_spec(kind="http", url=target.url + "/hang", id=f"h{i}", timeout="1s", interval="10s")
             for i in range(8)]
    started = time.monotonic()
    with Runner(max_workers=8) as runner:
        results = runner.run(specs)
    assert time.monotonic() - started < 4
    assert {r.error_class for r in results} == {"timeout"}


def test_a_first_failure_is_probed_again_at_once(target, make_spec):
    url = target.set("/down", status=503)
    spec = make_spec(kind="http", url=url, reprobe_on_failure=True)
    with Runner(max_workers=2) as runner:
        (result,) = runner.run([spec])
        assert target.hits("/down") == 2
        assert result.reprobed and result.observed["first_attempt"]["outcome"] == "down"
        # Already failing: no second probe.
        (again,) = runner.run([spec], previous={spec.id: "down"})
    assert target.hits("/down") == 3 and not again.reprobed


def test_a_blip_is_filtered_by_the_reprobe(make_spec):
    outcomes = iter(["down", "up"])

    def flaky(spec):
        return ProbeResult(outcome=next(outcomes), check_id=spec.id)

    spec = make_spec(kind="http", url="http://127.0.0.1/", reprobe_on_failure=True)
    result = probe_with_reprobe(spec, probe=flaky)
    assert result.outcome == "up" and result.reprobed


def test_no_reprobe_unless_configured(target, make_spec):
    url = target.set("/down", status=503)
    with Runner(max_workers=2) as runner:
        runner.run([make_spec(kind="http", url=url)])
    assert target.hits("/down") == 1


def test_a_probe_that_raises_still_gives_a_result(make_spec):
    def broken(spec):
        raise RuntimeError("bug")

    with Runner(max_workers=2, probe=broken) as runner:
        future = runner.submit(make_spec(kind="http", url="http://127.0.0.1/"))
        result = future.result(timeout=5)
    assert result.outcome == "down" and result.error_class == "internal" and "bug" in result.message
