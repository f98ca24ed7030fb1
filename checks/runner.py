"""Thousands of probes in flight on one event loop, each under its own hard deadline.

:class:`Engine` is the asyncio core: it admits at most ``max_in_flight``
probes at once and, when more are waiting, lets the most overdue one in first
(the lowest ``priority``, e.g. the scheduled slot time) — a hanging target
holds one slot for its timeout, never a thread, and never delays anything
while slots are free. :class:`Runner` is the synchronous face for code that
lives in threads (the worker's scheduler, scripts): it runs an engine on an
event loop in a thread of its own and hands back ``concurrent.futures``.

Both re-probe a check at once on its *first* failure when the spec asks for
it (:func:`probe_with_reprobe`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from checks.probes import HostResolver, ProbeSession, probe
from checks.result import ProbeResult
from checks.spec import CheckSpec

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "Engine", "EngineStats", "ProbeJob", "Runner", "probe_with_reprobe"]

DEFAULT_MAX_IN_FLIGHT = 2000

ProbeFunction = Callable[[CheckSpec], Awaitable[ProbeResult]]


async def probe_with_reprobe(
    spec: CheckSpec, run: ProbeFunction, *, previous_outcome: str | None = None
) -> ProbeResult:
    """Probe ``spec`` with ``run``; on a *first* failure, probe once more at once if ``spec.reprobe_on_failure``.

    A first failure is a non-up result when the previous outcome was up or
    unknown (``None``): a blip that the second probe does not confirm is then
    reported as the second probe's result, flagged ``reprobed`` and with the
    first attempt's message kept in ``observed["first_attempt"]``. Never raises
    (but can be cancelled).
    """
    result = await _safe(run, spec)
    if spec.reprobe_on_failure and result.outcome != "up" and previous_outcome in (None, "up"):
        first = result
        result = await _safe(run, spec)
        result.reprobed = True
        result.observed = {
            **result.observed,
            "first_attempt": {"outcome": first.outcome, "error_class": first.error_class, "message": first.message},
        }
    return result


async def _safe(run: ProbeFunction, spec: CheckSpec) -> ProbeResult:
    try:
        return await run(spec)
    except Exception as exc:  # the built-in probes never raise; a substitute might
        return ProbeResult(
            outcome="down",
            error_class="internal",
            message=f"{type(exc).__name__}: {exc}",
            check_id=spec.id,
            checked_at=datetime.now(UTC),
        )


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of the engine's load.

    ``waiting`` probes are admitted but held back because ``in_flight`` is at
    ``max_in_flight``: the engine is saturated while it is above zero.
    ``oldest_wait_s`` is how long the longest-waiting one has waited.
    """

    in_flight: int
    waiting: int
    max_in_flight: int
    oldest_wait_s: float
    started: int
    finished: int

    @property
    def saturated(self) -> bool:
        """True while probes wait for a free slot."""
        return self.waiting > 0


class Engine:
    """Runs probes on the current event loop, at most ``max_in_flight`` at once, most overdue first.

    Use ``async with Engine(...) as engine`` (or :meth:`close`) on the loop
    that runs the probes. ``probe`` replaces the network probe (a seam for
    tests); ``resolver`` is the host resolver (default: the system's DNS);
    ``source_address`` is the local IP every probe connects from (HTTP, TCP,
    TLS and DNS; default: the one the kernel picks). A source address that is
    not an IP raises ``ValueError`` here; one that is not on this machine makes
    each probe fail as a connection error.
    """

    def __init__(
        self,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        *,
        probe: ProbeFunction | None = None,
        resolver: HostResolver | None = None,
        source_address: str | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_in_flight = max_in_flight
        self.session = ProbeSession(resolver, source_address=source_address)
        self._probe = probe
        self._in_flight = 0
        self._waiters: list[tuple[float, int, float, asyncio.Future[None]]] = []  # (priority, seq, since, gate)
        self._seq = itertools.count()
        self.started = 0
        self.finished = 0

    async def run(
        self, spec: CheckSpec, *, previous_outcome: str | None = None, priority: float | None = None
    ) -> ProbeResult:
        """Probe ``spec`` (with re-probe on first failure) once a slot is free; never raises.

        ``priority``: the lower, the sooner it gets a slot when the engine is
        saturated (default: the time of the call, i.e. first come first served).
        """
        await self._admit(time.time() if priority is None else priority)
        self.started += 1
        try:
            return await probe_with_reprobe(spec, self._probe or self._network_probe, previous_outcome=previous_outcome)
        finally:
            self.finished += 1
            self._release()

    async def _network_probe(self, spec: CheckSpec) -> ProbeResult:
        return await probe(spec, self.session)

    async def _admit(self, priority: float) -> None:
        if self._in_flight < self.max_in_flight and not self._waiters:
            self._in_flight += 1
            return
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._seq), time.monotonic(), gate))
        try:
            await gate  # _release hands its slot over (in_flight stays counted)
        except asyncio.CancelledError:
            if gate.done() and not gate.cancelled():
                self._release()  # the slot was handed to us just as we were cancelled: pass it on
            raise

    def _release(self) -> None:
        while self._waiters:
            _, _, _, gate = heapq.heappop(self._waiters)
            if not gate.done():
                gate.set_result(None)
                return
        self._in_flight -= 1

    def stats(self) -> EngineStats:
        """How loaded the engine is right now (cheap; safe to call from another thread as a snapshot)."""
        waiting = [w for w in list(self._waiters) if not w[3].done()]
        oldest = min((w[2] for w in waiting), default=None)
        return EngineStats(
            in_flight=self._in_flight,
            waiting=len(waiting),
            max_in_flight=self.max_in_flight,
            oldest_wait_s=(time.monotonic() - oldest) if oldest is not None else 0.0,
            started=self.started,
            finished=self.finished,
        )

    async def close(self) -> None:
        """Close the shared HTTP session (probes still running fail as cancelled connections)."""
        await self.session.close()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


@dataclass(eq=False)
class ProbeJob:
    """One probe handed to :meth:`Runner.submit_many`: what to probe, when, and the caller's ``ref``.

    ``start_at`` is a ``time.time()`` value (``None``: at once); ``priority`` orders jobs waiting
    for a free slot (default: ``start_at``, so the most overdue goes first).
    """

    spec: CheckSpec
    previous_outcome: str | None = None
    start_at: float | None = None
    priority: float | None = None
    ref: Any = None


DoneCallback = Callable[[ProbeJob, ProbeResult], None]


class Runner:
    """An :class:`Engine` on an event loop in its own thread, for callers that are not async.

    ``run(specs)`` probes a batch and returns results in order;
    ``run_iter(specs)`` yields ``(spec, result)`` as probes finish; ``submit``
    returns a future, optionally to start at a given wall-clock time.
    :meth:`submit_many` is the scheduler's path: a whole batch crosses into the
    loop in one call, each job is held by a timer (not a task) until its start
    time, and results come back through a callback on the loop's thread — no
    future and no thread wake-up per probe. Use it as a context manager, or call
    :meth:`close`. ``source_address``: see :class:`Engine`.
    """

    def __init__(
        self,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        *,
        probe: ProbeFunction | None = None,
        resolver: HostResolver | None = None,
        source_address: str | None = None,
    ) -> None:
        self.max_in_flight = max_in_flight
        engine = Engine(max_in_flight, probe=probe, resolver=resolver, source_address=source_address)
        self._loop = asyncio.new_event_loop()
        self._engine = engine
        self._submitted = 0
        self._done = 0
        self._lock = threading.Lock()
        self._closed = False
        self._held: dict[ProbeJob, asyncio.TimerHandle] = {}  # jobs waiting for their start time (loop only)
        self._running: dict[asyncio.Task[ProbeResult], ProbeJob] = {}  # loop only
        self._thread = threading.Thread(target=self._loop.run_forever, name="checks-event-loop", daemon=True)
        self._thread.start()

    @property
    def engine(self) -> Engine:
        """The engine (touch it only from the loop, e.g. through :meth:`call`)."""
        return self._engine

    @property
    def in_flight(self) -> int:
        """Probes submitted and not yet finished (including those waiting for their start time or a slot)."""
        with self._lock:
            return self._submitted - self._done

    def submit(
        self,
        spec: CheckSpec,
        *,
        previous_outcome: str | None = None,
        start_at: float | None = None,
        priority: float | None = None,
    ) -> Future[ProbeResult]:
        """Queue one probe; the future resolves to its :class:`ProbeResult` (never to an exception).

        ``start_at`` (a ``time.time()`` value) holds the probe until then, on
        the loop — no thread waits. ``priority`` orders probes waiting for a
        slot (default: ``start_at``, so the most overdue goes first).
        """
        if self._closed:
            raise RuntimeError("the runner is closed")
        with self._lock:
            self._submitted += 1
        order = priority if priority is not None else start_at
        future = asyncio.run_coroutine_threadsafe(self._one(spec, previous_outcome, start_at, order), self._loop)
        future.add_done_callback(self._count_done)
        return future

    async def _one(
        self, spec: CheckSpec, previous_outcome: str | None, start_at: float | None, priority: float | None
    ) -> ProbeResult:
        if start_at is not None:
            delay = start_at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
        return await self._engine.run(spec, previous_outcome=previous_outcome, priority=priority)

    def submit_many(self, jobs: list[ProbeJob], on_done: DoneCallback) -> None:
        """Queue a batch of jobs; ``on_done(job, result)`` is called on the loop's thread as each finishes.

        ``on_done`` must be quick and thread-safe (e.g. ``deque.append``); it is not called for jobs
        taken back with :meth:`take_back_held` or cancelled by :meth:`close`.
        """
        if self._closed:
            raise RuntimeError("the runner is closed")
        with self._lock:
            self._submitted += len(jobs)
        self._loop.call_soon_threadsafe(self._hold, jobs, on_done)

    def _hold(self, jobs: list[ProbeJob], on_done: DoneCallback) -> None:
        now = time.time()
        for job in jobs:
            delay = 0.0 if job.start_at is None else job.start_at - now
            if delay > 0:
                self._held[job] = self._loop.call_later(delay, self._launch, job, on_done)
            else:
                self._launch(job, on_done)

    def _launch(self, job: ProbeJob, on_done: DoneCallback) -> None:
        self._held.pop(job, None)
        priority = job.priority if job.priority is not None else job.start_at
        task = self._loop.create_task(
            self._engine.run(job.spec, previous_outcome=job.previous_outcome, priority=priority))
        self._running[task] = job

        def finished(t: asyncio.Task[ProbeResult]) -> None:
            self._running.pop(t, None)
            with self._lock:
                self._done += 1
            if not t.cancelled():
                on_done(job, t.result())

        task.add_done_callback(finished)

    def take_back_held(self, timeout: float = 10.0) -> list[ProbeJob]:
        """Cancel every job still waiting for its start time and return them (for a clean shutdown)."""

        async def take() -> list[ProbeJob]:
            jobs = list(self._held)
            for handle in self._held.values():
                handle.cancel()
            self._held.clear()
            with self._lock:
                self._done += len(jobs)
            return jobs

        return asyncio.run_coroutine_threadsafe(take(), self._loop).result(timeout)

    def running_jobs(self, timeout: float = 10.0) -> list[ProbeJob]:
        """Jobs probing (or waiting for a free slot) right now."""

        async def read() -> list[ProbeJob]:
            return list(self._running.values())

        return asyncio.run_coroutine_threadsafe(read(), self._loop).result(timeout)

    def _count_done(self, _: Future[ProbeResult]) -> None:
        with self._lock:
            self._done += 1

    def stats(self) -> EngineStats:
        """The engine's :class:`EngineStats`, read from this thread without waiting for the loop.

        A snapshot taken while the loop runs: figures may be a few probes apart from each
        other, never blocked behind a busy loop.
        """
        return self._engine.stats()

    def run(self, specs: Iterable[CheckSpec], *, previous: Mapping[str, str] | None = None) -> list[ProbeResult]:
        """Probe every spec concurrently; return the results in the order of ``specs``.

        ``previous`` maps check id to its last outcome (for re-probe on first failure).
        """
        previous = previous or {}
        futures = [self.submit(spec, previous_outcome=previous.get(spec.id)) for spec in specs]
        return [future.result() for future in futures]

    def run_iter(
        self, specs: Iterable[CheckSpec], *, previous: Mapping[str, str] | None = None
    ) -> Iterator[tuple[CheckSpec, ProbeResult]]:
        """Probe every spec concurrently, yielding ``(spec, result)`` as each one finishes."""
        previous = previous or {}
        pending: dict[Future[ProbeResult], CheckSpec] = {
            self.submit(spec, previous_outcome=previous.get(spec.id)): spec for spec in specs
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()

    def close(self, wait: bool = True, timeout: float = 150.0) -> None:
        """Stop the loop; with ``wait``, let submitted probes finish first (each is deadline-bound).

        Without ``wait`` (or after ``timeout``), probes still running are
        cancelled and their futures end as cancelled.
        """
        if self._closed:
            return
        self._closed = True

        async def shutdown() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            if tasks and wait:
                _, pending = await asyncio.wait(tasks, timeout=timeout)
            else:
                pending = set(tasks)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            await self._engine.close()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
