"""Run many probes concurrently in a thread pool, each under its own hard deadline.

Each worker thread keeps its own HTTP sessions (see ``checks.probes.http``),
so nothing but the shared, read-only TLS contexts crosses threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from types import TracebackType

from checks.probes import run_probe
from checks.result import ProbeResult
from checks.spec import CheckSpec

__all__ = ["Runner", "probe_with_reprobe"]

ProbeFunction = Callable[[CheckSpec], ProbeResult]


def probe_with_reprobe(
    spec: CheckSpec, *, previous_outcome: str | None = None, probe: ProbeFunction | None = None
) -> ProbeResult:
    """Probe ``spec``; on a *first* failure, probe once more at once if ``spec.reprobe_on_failure``.

    A first failure is a non-up result when the previous outcome was up or
    unknown (``None``): a blip that the second probe does not confirm is then
    reported as the second probe's result, flagged ``reprobed`` and with the
    first attempt's message kept in ``observed["first_attempt"]``. Never raises.
    """
    run = probe or _default_probe
    result = _safe(run, spec)
    if spec.reprobe_on_failure and result.outcome != "up" and previous_outcome in (None, "up"):
        first = result
        result = _safe(run, spec)
        result.reprobed = True
        result.observed = {
            **result.observed,
            "first_attempt": {"outcome": first.outcome, "error_class": first.error_class, "message": first.message},
        }
    return result


def _default_probe(spec: CheckSpec) -> ProbeResult:
    return run_probe(spec)


def _safe(run: ProbeFunction, spec: CheckSpec) -> ProbeResult:
    try:
        return run(spec)
    except Exception as exc:  # run_probe never raises; a substitute probe might
        return ProbeResult(
            outcome="down",
            error_class="internal",
            message=f"{type(exc).__name__}: {exc}",
            check_id=spec.id,
            checked_at=datetime.now(UTC),
        )


class Runner:
    """A pool of probe workers.

    ``run(specs)`` probes a batch and returns results in order;
    ``run_iter(specs)`` yields ``(spec, result)`` as probes finish; ``submit``
    returns a future for a scheduler loop that feeds work continuously. Use
    it as a context manager, or call :meth:`close`.
    """

    def __init__(self, max_workers: int = 32, *, probe: ProbeFunction | None = None) -> None:
        self.max_workers = max_workers
        self._probe = probe
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="checks-probe")
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Probes submitted and not yet finished."""
        return self._in_flight

    def submit(self, spec: CheckSpec, *, previous_outcome: str | None = None) -> Future[ProbeResult]:
        """Queue one probe; the future resolves to its :class:`ProbeResult` (never to an exception)."""
        with self._lock:
            self._in_flight += 1
        future = self._executor.submit(
            probe_with_reprobe, spec, previous_outcome=previous_outcome, probe=self._probe
        )
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Future[ProbeResult]) -> None:
        with self._lock:
            self._in_flight -= 1

    def run(
        self, specs: Iterable[CheckSpec], *, previous: Mapping[str, str] | None = None
    ) -> list[ProbeResult]:
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

    def close(self, wait: bool = True) -> None:
        """Stop accepting work; with ``wait``, let running probes finish (each is deadline-bound)."""
        self._executor.shutdown(wait=wait, cancel_futures=not wait)

    def __enter__(self) -> Runner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
