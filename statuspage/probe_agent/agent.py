"""The probe agent's loop: fetch the location's checks, probe each at its slots, buffer, send in order.

Three threads and the engine's event loop:

* the **scheduler** (the thread that calls :meth:`Agent.run`) keeps every assigned check's next
  slot (``next_slot_after(slug, interval, …)``, the server's own spreading) and hands probes to
  one :class:`checks.runner.Runner` with ``submit_many`` shortly before their slot; a check has at
  most one probe outstanding, so its results are produced in slot order. Finished probes are
  written to the buffer, each with its slot, in one transaction per batch;
* the **fetcher** asks the server for the checks at start and every ``refresh_every`` seconds; on
  failure the agent keeps probing the last good list (saved in the buffer's file, so a restarted
  agent with the server away still probes);
* the **sender** posts the buffer's oldest rows (at most ``batch_size``) and acknowledges them as
  the contract says: 2xx, 422 with rejected rows, 400/415/422 → forget the batch; 401/403, 5xx,
  no answer → keep it and retry after 1 s, 2 s, … ``max_backoff``. With nothing to send it posts
  an empty batch (a heartbeat) every ``heartbeat_every`` seconds.

A restarted agent resumes from the buffer: what was buffered is sent, and slots already produced
(the last slot per check is kept in the file) are never probed again. :meth:`Agent.stop` (SIGTERM,
SIGINT) stops scheduling, lets running probes finish (at most ``stop_grace`` seconds), sends what it
can within ``flush_timeout`` seconds and returns.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from checks.result import ProbeResult
from checks.runner import ProbeJob, Runner
from checks.spec import CheckSpec
from statuspage.probe_agent.buffer import DEFAULT_MAX_ROWS, ResultBuffer
from statuspage.probe_agent.client import FetchError, ProbeClient
from statuspage.services.monitoring.schedule import next_slot_after

__all__ = ["Agent", "AgentConfig"]

log = logging.getLogger("statuspage.probe")


@dataclass
class AgentConfig:
    """Everything an agent needs; the CLI builds it from its options and the environment."""

    server: str
    location: str
    token: str
    buffer_path: Path
    source_address: str | None = None
    max_buffer: int = DEFAULT_MAX_ROWS
    max_in_flight: int = 200
    refresh_every: float = 30.0  # seconds between fetches of the list of checks
    heartbeat_every: float = 10.0  # the contract asks for one at least every 15 s
    batch_size: int = 500
    max_backoff: float = 30.0
    lookahead: float = 1.0  # hand a probe to the engine this long before its slot
    stop_grace: float = 30.0  # how long running probes may finish on stop
    flush_timeout: float = 10.0  # how long the last send may take on stop
    hostname: str = field(default_factory=socket.gethostname)


@dataclass
class _Check:
    id: int
    slug: str
    interval: float
    spec: CheckSpec
    fingerprint: str
    running: bool = False
    next_slot: datetime | None = None


def _version() -> str:
    try:
        return metadata.version("statuspage")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def iso_slot(slot: datetime) -> str:
    """A slot as the contract writes it: ISO 8601 with offset, whole milliseconds."""
    return slot.astimezone(UTC).isoformat(timespec="milliseconds")


class Agent:
    """One probe agent for one location. :meth:`run` blocks until :meth:`stop` (from any thread)."""

    def __init__(self, config: AgentConfig, *, client: ProbeClient | None = None) -> None:
        self.config = config
        self.client = client or ProbeClient(config.server, config.location, config.token,
                                            user_agent=f"statuspage-probe-agent/{_version()}")
        self.buffer = ResultBuffer(config.buffer_path, max_rows=config.max_buffer)
        self._stop = threading.Event()  # stop scheduling
        self._sender_stop = threading.Event()  # the probes are done: make the last send and end
        self._wake_sender = threading.Event()
        self._lock = threading.Lock()
        self._new_checks: dict[str, Any] | None = None  # handed from the fetcher to the scheduler
        self._checks: dict[int, _Check] = {}
        self._heap: list[tuple[float, int, int, datetime]] = []  # (slot ts, seq, check id, slot)
        self._seq = itertools.count()
        self._done: deque[tuple[ProbeJob, ProbeResult]] = deque()
        self._last_slot: dict[int, datetime] = {}
        self._announced = False  # the list of checks was logged once
        self.produced = 0
        self.sent = 0

    # --- control ------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the agent to stop (safe from a signal handler)."""
        self._stop.set()

    def run(self) -> int:
        """Run until :meth:`stop`; return the exit status (0)."""
        cfg = self.config
        self._last_slot = self.buffer.last_slots()
        waiting = self.buffer.depth()
        log.info("probe agent started: location %s, server %s, source address %s, buffer %s (%s)",
                 cfg.location, self.client.server, cfg.source_address or "chosen by the system", cfg.buffer_path,
                 f"{waiting} results waiting to be sent" if waiting else "empty")
        cached = self.buffer.cached_checks()
        if cached is not None:
            self._apply_checks(cached, source="the list saved by the last run")
        runner = Runner(max_in_flight=cfg.max_in_flight, source_address=cfg.source_address)
        fetcher = threading.Thread(target=self._fetch_main, name="probe-fetcher", daemon=True)
        sender = threading.Thread(target=self._send_main, name="probe-sender", daemon=True)
        fetcher.start()
        sender.start()
        try:
            while not self._stop.is_set():
                try:
                    self._step(runner)
                except Exception:  # e.g. the disk is full: say so, keep the loop (and the probes) alive
                    log.exception("the scheduler step failed; going on")
                    self._stop.wait(1.0)
        finally:
            self._shutdown(runner)
            self._sender_stop.set()
            self._wake_sender.set()
            sender.join(cfg.flush_timeout + 40.0)
            left = self.buffer.depth()
            if left:
                log.info("stopped: %d results still buffered in %s (they are sent when the agent starts again)",
                         left, cfg.buffer_path)
            else:
                log.info("stopped: every result was sent")
            self.buffer.close()
            self.client.close()
        return 0

    # --- the scheduler --------------------------------------------------------------------------------

    def _step(self, runner: Runner) -> None:
        with self._lock:
            fresh, self._new_checks = self._new_checks, None
        if fresh is not None:
            self._apply_checks(fresh, source="the server")
        self._record_finished()
        self._submit_due(runner)
        wait = 0.25
        if self._heap:
            wait = min(wait, max(0.0, self._heap[0][0] - self.config.lookahead - time.time()))
        self._stop.wait(wait)

    def _apply_checks(self, payload: dict[str, Any], *, source: str) -> None:
        now = datetime.now(UTC)
        seen: set[int] = set()
        changed = not self._announced
        for entry in payload.get("checks") or []:
            try:
                check = self._parse_check(entry)
            except Exception as exc:  # one bad entry must not stop the others
                log.warning("ignoring check %r from %s: %s", entry.get("slug") if isinstance(entry, dict) else entry,
                            source, exc)
                continue
            if check is None:
                continue
            seen.add(check.id)
            current = self._checks.get(check.id)
            if current is not None and current.fingerprint == check.fingerprint:
                continue
            changed = True
            if current is not None and current.running:
                check.running = True  # its result schedules the next slot, with the new settings
            self._checks[check.id] = check
            if not check.running:
                self._schedule(check, now)
        removed = [cid for cid in self._checks if cid not in seen]
        for cid in removed:
            del self._checks[cid]
        if not (changed or removed):
            return
        self._announced = True
        names = ", ".join(sorted(c.slug for c in self._checks.values()))
        log.info("%d checks assigned to %s (from %s)%s", len(self._checks), self.config.location, source,
                 f": {names}" if names and len(self._checks) <= 20 else "")

    def _parse_check(self, entry: Any) -> _Check | None:
        if not isinstance(entry, dict):
            raise ValueError("not an object")
        if entry.get("kind") == "heartbeat":
            return None  # heartbeats are pinged, not probed
        spec = CheckSpec.from_dict(entry["spec"])
        interval = float(entry.get("interval_seconds") or spec.interval)
        if interval <= 0:
            raise ValueError("interval_seconds must be positive")
        if entry.get("timeout_seconds"):
            spec.timeout = float(entry["timeout_seconds"])
        fingerprint = json.dumps(entry, sort_keys=True, default=str)
        return _Check(int(entry["id"]), str(entry["slug"]), interval, spec, fingerprint)

    def _schedule(self, check: _Check, now: datetime) -> None:
        after = now
        last = self._last_slot.get(check.id)
        if last is not None and last > after:
            after = last
        slot = next_slot_after(check.slug, check.interval, after)
        check.next_slot = slot
        heapq.heappush(self._heap, (slot.timestamp(), next(self._seq), check.id, slot))

    def _submit_due(self, runner: Runner) -> None:
        horizon = time.time() + self.config.lookahead
        jobs: list[ProbeJob] = []
        while self._heap and self._heap[0][0] <= horizon:
            ts, _, cid, slot = heapq.heappop(self._heap)
            check = self._checks.get(cid)
            if check is None or check.running or check.next_slot != slot:
                continue  # removed, or rescheduled since
            check.running = True
            jobs.append(ProbeJob(check.spec, start_at=ts, priority=ts, ref=(cid, slot)))
        if jobs:
            runner.submit_many(jobs, self._probe_done)

    def _probe_done(self, job: ProbeJob, result: ProbeResult) -> None:
        self._done.append((job, result))  # on the engine's loop: hand over, nothing more

    def _record_finished(self) -> None:
        finished: list[tuple[ProbeJob, ProbeResult]] = []
        while self._done:
            finished.append(self._done.popleft())
        if not finished:
            return
        rows = [self._row(job, result) for job, result in finished]
        dropped_before = self.buffer.dropped
        self.buffer.put_many(rows)
        self.produced += len(rows)
        self._wake_sender.set()
        dropped = self.buffer.dropped - dropped_before
        if dropped:
            log.warning("the buffer is full (%d results): dropped the %d oldest results", self.config.max_buffer,
                        dropped)
        now = datetime.now(UTC)
        for job, result in finished:
            cid, slot = job.ref
            self._last_slot[cid] = slot
            check = self._checks.get(cid)
            if check is None:
                continue
            check.running = False
            started = result.checked_at or now
            self._schedule(check, max(started, slot, now))

    @staticmethod
    def _row(job: ProbeJob, result: ProbeResult) -> dict[str, Any]:
        cid, slot = job.ref
        started = result.checked_at or datetime.now(UTC)
        return {
            "check_id": cid,
            "slot": iso_slot(slot),
            "started_at": started.astimezone(UTC).isoformat(timespec="milliseconds"),
            "outcome": result.outcome,
            "latency_ms": round(result.latency_ms, 3) if result.latency_ms is not None else None,
            "status_code": result.status_code,
            "error_class": result.error_class,
            "message": result.message,
            "conditions": result.conditions if result.conditions else None,
        }

    def _shutdown(self, runner: Runner) -> None:
        try:
            runner.take_back_held()  # not started: those slots were never produced
        except Exception:  # pragma: no cover - the loop is gone; nothing held survives it anyway
            log.exception("could not take back held probes")
        deadline = time.monotonic() + self.config.stop_grace
        running = runner.in_flight
        if running:
            log.info("stopping: letting %d running probes finish (at most %gs)", running, self.config.stop_grace)
        while runner.in_flight and time.monotonic() < deadline:
            self._record_finished()
            time.sleep(0.05)
        runner.close(wait=False)
        self._record_finished()

    # --- the fetcher ----------------------------------------------------------------------------------

    def _fetch_main(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                payload = self.client.fetch_checks()
            except FetchError as exc:
                if not failing:
                    failing = True
                    known = len(self._checks)
                    how = (f"probing the last list of checks ({known})" if self.buffer.cached_checks() is not None
                           else "no list of checks yet: nothing to probe until the server answers")
                    if exc.auth:
                        log.error("cannot fetch the checks: %s — check STATUSPAGE_PROBE_TOKEN and --location; %s",
                                  exc, how)
                    else:
                        log.warning("cannot fetch the checks (server unreachable: %s) — %s", exc, how)
            except Exception:  # never let the fetcher die
                log.exception("fetching the checks failed")
            else:
                if failing:
                    log.info("fetched the checks again")
                failing = False
                try:
                    self.buffer.save_checks(payload)
                except Exception:
                    log.exception("could not save the list of checks")
                with self._lock:
                    self._new_checks = payload
            self._stop.wait(self.config.refresh_every)

    # --- the sender -----------------------------------------------------------------------------------

    def _agent_info(self) -> dict[str, Any]:
        oldest = self.buffer.oldest()
        return {
            "version": _version(),
            "buffer_depth": self.buffer.depth(),
            "oldest_buffered_at": oldest.isoformat() if oldest else None,
            "dropped": self.buffer.dropped,
            "hostname": self.config.hostname,
        }

    def _send_main(self) -> None:
        cfg = self.config
        backoff = 1.0
        batch_size = cfg.batch_size
        last_post = 0.0  # monotonic time of the last answered post (0: post a heartbeat at once)
        outage = False
        replayed = 0
        while not self._sender_stop.is_set():
            batch = self.buffer.peek(batch_size)
            if not batch and time.monotonic() - last_post < cfg.heartbeat_every:
                self._wake_sender.wait(min(0.5, cfg.heartbeat_every))
                self._wake_sender.clear()
                continue
            outcome = self.client.post_results(self._agent_info(), [r.row for r in batch])
            if outcome.action == "ack":
                last_post = time.monotonic()
                backoff = 1.0
                if batch:
                    self.buffer.ack(batch[-1].seq)
                    self.sent += len(batch)
                    if outcome.status is not None and not 200 <= outcome.status < 300:
                        log.warning("the server refused %d of %d results (%s): %s", len(outcome.rejected) or
                                    len(batch), len(batch), outcome.status, outcome.message)
                        for reject in outcome.rejected[:10]:
                            log.warning("  rejected %s: %s", reject.get("field"), reject.get("message"))
                if outage:
                    replayed += len(batch)
                    if self.buffer.depth() == 0:
                        log.info("server reachable again: replayed %d buffered results", replayed)
                        outage, replayed = False, 0
                continue
            if outcome.too_large and batch_size > 1:
                batch_size = max(1, batch_size // 2)
                log.warning("the server found the batch too large: sending %d results per batch", batch_size)
                continue
            if not outage:
                outage = True
                log.warning("server unreachable (%s) — buffering results (%d waiting)", outcome.message,
                            self.buffer.depth())
            if outcome.auth:
                log.error("%s — check STATUSPAGE_PROBE_TOKEN (scope probe, location %s); results stay buffered",
                          outcome.message, cfg.location)
                wait = cfg.max_backoff
            else:
                wait, backoff = backoff, min(backoff * 2, cfg.max_backoff)
            self._sender_stop.wait(wait)
        self._flush()

    def _flush(self) -> None:
        """The last send on stop: as much of the buffer as the server takes within ``flush_timeout``."""
        deadline = time.monotonic() + self.config.flush_timeout
        while time.monotonic() < deadline:
            batch = self.buffer.peek(self.config.batch_size)
            if not batch:
                return
            outcome = self.client.post_results(self._agent_info(), [r.row for r in batch])
            if outcome.action != "ack":
                return
            self.buffer.ack(batch[-1].seq)
            self.sent += len(batch)
