"""The runner: probes in flight together on one loop, order kept, a bound that queues most overdue first,
re-probe on first failure, start times held on the loop."""

from __future__ import annotations

import asyncio
import threading
import time

from checks.result import ProbeResult
from checks.runner import Engine, Runner, probe_with_reprobe
from tests.support.aio import run_async


def test_probes_are_in_flight_together_and_results_keep_their_order(target, make_spec):
    # The target answers only once all 20 requests are open at the same time (503 otherwise).
    target.set("*", gather=20, gather_timeout=4)
    specs = [make_spec(kind="http", url=f"{target.url}/s{i}", id=f"c{i}", timeout="6s") for i in range(20)]
    with Runner(max_in_flight=100) as runner:
        results = runner.run(specs)
    assert [r.check_id for r in results] == [s.id for s in specs]
    assert [r.outcome for r in results] == ["up"] * 20, {r.message for r in results}


def test_run_iter_yields_results_as_they_finish(target, make_spec):
    target.set("/slow", delay=1.0)
    target.set("/fast")
    specs = [make_spec(kind="http", url=target.url + "/slow", id="slow"),
             make_spec(kind="http", url=target.url + "/fast", id="fast")]
    with Runner(max_in_flight=4) as runner:
        order = [spec.id for spec, _ in runner.run_iter(specs)]
    assert order == ["fast", "slow"]


def test_a_healthy_probe_never_waits_for_hanging_ones_while_slots_are_free(target, make_spec):
    target.set("/hang", hang=True)
    target.set("/ok")
    finished: list[str] = []
    hanging = [make_spec(kind="http", url=target.url + "/hang", id=f"h{i}", timeout="3s", interval="10s")
               for i in range(50)]
    with Runner(max_in_flight=100) as runner:
        futures = [runner.submit(spec) for spec in hanging]
        healthy = runner.submit(make_spec(kind="http", url=target.url + "/ok", id="ok"))
        for future, name in [*zip(futures, [s.id for s in hanging], strict=True), (healthy, "ok")]:
            future.add_done_callback(lambda _, name=name: finished.append(name))
        results = [f.result() for f in futures]
        assert healthy.result().outcome == "up"
    assert finished[0] == "ok"
    assert {r.error_class for r in results} == {"timeout"}


def test_when_saturated_the_most_overdue_probe_gets_the_next_slot(make_spec):
    started: list[str] = []
    release = threading.Event()

    async def blocking(spec):
        started.append(spec.id)
        while not release.is_set():
            await asyncio.sleep(0.01)
        return ProbeResult(outcome="up", check_id=spec.id)

    with Runner(max_in_flight=1, probe=blocking) as runner:
        first = runner.submit(make_spec(kind="http", url="http://127.0.0.1/", id="first"))
        while not started:
            time.sleep(0.01)
        # Queued behind the one slot, submitted newest first; their slots say who is most overdue.
        late = [runner.submit(make_spec(kind="http", url="http://127.0.0.1/", id=f"due-{k}"), priority=k)
                for k in (30, 10, 20)]
        while runner.stats().waiting < 3:
            time.sleep(0.01)
        stats = runner.stats()
        assert stats.saturated and stats.in_flight == 1 and stats.max_in_flight == 1
        release.set()
        [f.result() for f in [first, *late]]
    assert started == ["first", "due-10", "due-20", "due-30"]


def test_start_at_holds_a_probe_on_the_loop_until_its_time(target, make_spec):
    url = target.set("/ok")
    spec = make_spec(kind="http", url=url)
    with Runner() as runner:
        later = runner.submit(spec, start_at=time.time() + 1.0)
        now = runner.submit(spec)
        assert now.result().outcome == "up"
        assert not later.done() and target.hits("/ok") == 1
        assert later.result().outcome == "up"
    assert target.hits("/ok") == 2
    assert later.result().checked_at > now.result().checked_at


def test_a_first_failure_is_probed_again_at_once(target, make_spec):
    url = target.set("/down", status=503)
    spec = make_spec(kind="http", url=url, reprobe_on_failure=True)
    with Runner(max_in_flight=2) as runner:
        (result,) = runner.run([spec])
        assert target.hits("/down") == 2
        assert result.reprobed and result.observed["first_attempt"]["outcome"] == "down"
        # Already failing: no second probe.
        (again,) = runner.run([spec], previous={spec.id: "down"})
    assert target.hits("/down") == 3 and not again.reprobed


def test_a_blip_is_filtered_by_the_reprobe(make_spec):
    outcomes = iter(["down", "up"])

    async def flaky(spec):
        return ProbeResult(outcome=next(outcomes), check_id=spec.id)

    spec = make_spec(kind="http", url="http://127.0.0.1/", reprobe_on_failure=True)
    result = run_async(lambda: probe_with_reprobe(spec, flaky))
    assert result.outcome == "up" and result.reprobed
    assert result.observed["first_attempt"]["outcome"] == "down"


def test_no_reprobe_unless_configured(target, make_spec):
    url = target.set("/down", status=503)
    with Runner(max_in_flight=2) as runner:
        runner.run([make_spec(kind="http", url=url)])
    assert target.hits("/down") == 1


def test_a_probe_that_raises_still_gives_a_result(make_spec):
    async def broken(spec):
        raise RuntimeError("bug")

    with Runner(max_in_flight=2, probe=broken) as runner:
        future = runner.submit(make_spec(kind="http", url="http://127.0.0.1/"))
        result = future.result(timeout=5)
    assert result.outcome == "down" and result.error_class == "internal" and "bug" in result.message


def test_a_cancelled_waiter_hands_its_slot_on(make_spec):
    async def scenario():
        gate = asyncio.Event()

        async def held(spec):
            await gate.wait()
            return ProbeResult(outcome="up", check_id=spec.id)

        async with Engine(max_in_flight=1, probe=held) as engine:
            spec = make_spec(kind="http", url="http://127.0.0.1/")
            first = asyncio.create_task(engine.run(spec))
            await asyncio.sleep(0)
            doomed = asyncio.create_task(engine.run(spec))
            last = asyncio.create_task(engine.run(spec))
            await asyncio.sleep(0)
            assert engine.stats().waiting == 2
            doomed.cancel()
            gate.set()
            await asyncio.gather(first, last)
            assert doomed.cancelled()
            return engine.stats()

    stats = run_async(scenario)
    assert stats.in_flight == 0 and stats.waiting == 0 and stats.finished == 2


def test_submit_many_holds_jobs_until_their_start_and_gives_back_those_not_started(target, make_spec):
    from collections import deque

    from checks.runner import ProbeJob

    url = target.set("/ok")
    done: deque = deque()
    now = time.time()
    jobs = [ProbeJob(make_spec(kind="http", url=url, id="now"), ref="now"),
            ProbeJob(make_spec(kind="http", url=url, id="soon"), start_at=now + 0.5, ref="soon"),
            ProbeJob(make_spec(kind="http", url=url, id="later"), start_at=now + 60, ref="later")]
    with Runner() as runner:
        runner.submit_many(jobs, lambda job, result: done.append((job.ref, result.outcome)))
        while len(done) < 2:
            time.sleep(0.01)
        assert [ref for ref, _ in done] == ["now", "soon"]
        assert runner.in_flight == 1
        assert [job.ref for job in runner.take_back_held()] == ["later"]
        assert runner.in_flight == 0 and runner.running_jobs() == []
    assert list(done) == [("now", "up"), ("soon", "up")] and target.hits("/ok") == 2
