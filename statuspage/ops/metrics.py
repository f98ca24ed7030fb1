"""Prometheus metrics.

Web processes serve ``/metrics``: with STATUSPAGE_METRICS_TOKEN set, to a bearer of that token; without
it, only to requests from this host's loopback that did not come through a proxy (gunicorn's
several processes are aggregated when PROMETHEUS_MULTIPROC_DIR is set). Figures that live in the
database (outbox depth, scheduler lag, worker heartbeats, check states) are read at scrape time, so
any replica gives the same answer. Worker processes count their own runs and deliveries and serve
them on STATUSPAGE_WORKER_METRICS_PORT when set.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..services.monitoring.selfcheck import worker_loads

HTTP_REQUESTS = Counter("statuspage_http_requests_total", "HTTP requests served",
                        ["method", "endpoint", "status"])
HTTP_LATENCY = Histogram("statuspage_http_request_duration_seconds", "HTTP request latency", ["endpoint"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
CHECK_RUNS = Counter("statuspage_check_runs_total", "Check runs by outcome", ["kind", "outcome"])
CHECK_LATENCY = Histogram("statuspage_check_latency_seconds", "Probe latency", ["kind"],
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SCHEDULER_LAG = Histogram("statuspage_scheduler_start_lag_seconds", "Probe start behind its slot",
                          buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30))
CHECK_ERRORS = Counter("statuspage_check_errors_total", "Check runs that were not up, by kind and error class",
                       ["kind", "error_class"])
CHECK_SLOTS_SKIPPED = Counter("statuspage_check_slots_skipped_total",
                              "Check slots that passed without a run (the worker was behind by a whole interval)")
PROBES_IN_FLIGHT = Gauge("statuspage_probes_in_flight", "Probes running on this worker's event loop now")
PROBES_WAITING = Gauge("statuspage_probes_waiting",
                       "Due probes waiting for a free slot (above 0: the worker is saturated)")
START_LAG_QUANTILE = Gauge("statuspage_probe_start_lag_seconds",
                           "Start lag behind the slot over the last minute, by quantile", ["quantile"])
DELIVERIES = Counter("statuspage_deliveries_total", "Outbox deliveries by channel and result",
                     ["channel", "result"])

bp = Blueprint("metrics", __name__)


class DatabaseCollector:
    """Gauges read from the database at scrape time."""

    def collect(self):
        from sqlalchemy import func, select

        from ..db import utcnow
        from ..extensions import db
        from ..models import Check, OutboxMessage, WorkerHeartbeat

        now = utcnow()
        depth = GaugeMetricFamily("statuspage_outbox_messages", "Outbox rows by status", labels=["status"])
        for status, count in db.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all():
            depth.add_metric([status], count)
        yield depth
        oldest = db.session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now))
        backlog = GaugeMetricFamily("statuspage_outbox_backlog_seconds",
                                    "How long the longest-waiting due notification has waited (0: none waiting); "
                                    "alert on it when mail stops flowing")
        backlog.add_metric([], max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        yield backlog
        checks = GaugeMetricFamily("statuspage_checks", "Active checks by state", labels=["status"])
        for status, count in db.session.execute(
                select(Check.status, func.count()).where(Check.archived_at.is_(None)).group_by(Check.status)).all():
            checks.add_metric([status], count)
        yield checks
        oldest_due = db.session.scalar(select(func.min(Check.next_run_at)).where(
            Check.archived_at.is_(None), Check.claimed_by.is_(None)))
        lag = GaugeMetricFamily("statuspage_scheduler_backlog_seconds",
                                "How far the most overdue unclaimed check is behind its slot")
        lag.add_metric([], max(0.0, (now - oldest_due).total_seconds()) if oldest_due else 0.0)
        yield lag
        workers = GaugeMetricFamily("statuspage_workers_alive", "Workers that sent a heartbeat in the last minute")
        workers.add_metric([], db.session.scalar(select(func.count()).select_from(WorkerHeartbeat).where(
            WorkerHeartbeat.stopped_at.is_(None),
            WorkerHeartbeat.last_seen_at > now - __import__("datetime").timedelta(seconds=60))) or 0)
        yield workers
        yield from _worker_load_metrics(now)
        yield from _location_metrics(now)


def _location_metrics(now):
    """Probe locations (issue 14): each location's report age, staleness, lag and buffer; each multi-location
    check's view from each location."""
    from ..services.monitoring.location_report import check_location_states, location_summaries

    def gauge(name, doc, labels=("location",)):
        return GaugeMetricFamily(name, doc, labels=list(labels))

    age = gauge("statuspage_probe_location_last_report_age_seconds",
                "Seconds since the location last reported (the local worker: since it last ran checks)")
    stale = gauge("statuspage_probe_location_stale",
                  "1 while the location is stale or has never reported: its results count as unknown")
    limit = gauge("statuspage_probe_location_stale_after_seconds", "How long the location may stay silent")
    lag = gauge("statuspage_probe_location_lag_seconds", "Age of the oldest result of the last batch on arrival")
    depth = gauge("statuspage_probe_location_buffer_depth", "Results waiting in the agent's buffer (its last report)")
    dropped = gauge("statuspage_probe_location_dropped", "Results the agent dropped from a full buffer (its last report)")
    assigned = gauge("statuspage_probe_location_checks_assigned", "Active checks probed from the location")
    received = CounterMetricFamily("statuspage_probe_location_results_received",
                                   "Results accepted from the location's agent", labels=["location"])
    for loc in location_summaries(now):
        labels = [loc.slug]
        if loc.age_seconds is not None:
            age.add_metric(labels, loc.age_seconds)
        stale.add_metric(labels, 0 if loc.state == "fresh" else 1)
        limit.add_metric(labels, loc.stale_after_seconds)
        assigned.add_metric(labels, loc.checks_assigned)
        if loc.lag_seconds is not None:
            lag.add_metric(labels, loc.lag_seconds)
        if loc.buffer_depth is not None:
            depth.add_metric(labels, loc.buffer_depth)
        if loc.dropped is not None:
            dropped.add_metric(labels, loc.dropped)
        if not loc.local and loc.results_received is not None:
            received.add_metric(labels, loc.results_received)
    yield from (age, stale, limit, lag, depth, dropped, assigned, received)
    up = gauge("statuspage_check_location_up", "1 when the location sees the check up, 0 when down or degraded "
               "(absent until it has a result)", ("check", "location"))
    fresh = gauge("statuspage_check_location_fresh", "1 when the location's view of the check counts toward the "
                  "quorum (fresh)", ("check", "location"))
    partial = gauge("statuspage_check_location_below_quorum",
                    "1 when the location sees the check failing but fewer than the quorum agree", ("check", "location"))
    delayed = gauge("statuspage_check_monitoring_delayed", "1 when too few locations are fresh to decide the check",
                    ("check",))
    seen_checks = {}
    for state in check_location_states(now):
        labels = [state.check, state.location]
        if state.status in ("up", "degraded", "down"):
            up.add_metric(labels, 1 if state.status == "up" else 0)
        fresh.add_metric(labels, 1 if state.fresh else 0)
        partial.add_metric(labels, 1 if state.partial else 0)
        seen_checks[state.check] = state.monitoring_delayed
    for check, is_delayed in seen_checks.items():
        delayed.add_metric([check], 1 if is_delayed else 0)
    yield from (up, fresh, partial, delayed)


def _worker_load_metrics(now):
    """Each live worker's check loop, from its heartbeat: in flight, waiting, start lag, saturation, errors."""
    loads = worker_loads(now)
    in_flight = GaugeMetricFamily("statuspage_worker_probes_in_flight", "Probes running on the worker's event loop",
                                  labels=["worker"])
    waiting = GaugeMetricFamily("statuspage_worker_probes_waiting",
                                "Due probes waiting for a free slot (above 0: saturated)", labels=["worker"])
    saturated = GaugeMetricFamily("statuspage_worker_saturated", "1 while the worker's probes wait for a slot",
                                  labels=["worker"])
    lag = GaugeMetricFamily("statuspage_worker_start_lag_seconds",
                            "Probe start lag behind the slot over the last minute", labels=["worker", "quantile"])
    skipped = CounterMetricFamily("statuspage_worker_check_slots_skipped",
                                  "Slots that passed unrun since the worker started", labels=["worker"])
    errors = CounterMetricFamily("statuspage_worker_check_errors",
                                 "Runs that were not up since the worker started, by kind and error class",
                                 labels=["worker", "kind", "error_class"])
    for w in loads:
        in_flight.add_metric([w.id], w.running)
        waiting.add_metric([w.id], w.waiting)
        saturated.add_metric([w.id], 1 if w.saturated else 0)
        lag.add_metric([w.id, "0.5"], w.lag_p50)
        lag.add_metric([w.id, "0.99"], w.lag_p99)
        skipped.add_metric([w.id], w.skipped_slots)
        for kind, classes in sorted(w.errors.items()):
            for error_class, count in sorted(classes.items()):
                errors.add_metric([w.id, kind, error_class], count)
    yield from (in_flight, waiting, saturated, lag, skipped, errors)


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        for collector in list(REGISTRY._collector_to_names):  # the process's own metrics
            registry.register(collector)
    registry.register(DatabaseCollector())
    return registry


_PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded", "X-Forwarded-Host")


def _from_loopback() -> bool:
    """A direct request from this host (a reverse proxy on the same host forwards with these headers)."""
    try:
        local = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
    return local and not any(h in request.headers for h in _PROXY_HEADERS)


@bp.get("/metrics")
def metrics():
    settings = current_app.extensions["statuspage.settings"]
    if settings.metrics_token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
            return Response("metrics token required\n", status=401, mimetype="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    elif not _from_loopback():
        return Response("metrics answer on loopback only; set STATUSPAGE_METRICS_TOKEN to scrape from "
                        "elsewhere\n", status=403, mimetype="text/plain")
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def init_metrics(app: Flask) -> None:
    from ..extensions import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)

    @app.before_request
    def _start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(resp):
        endpoint = request.endpoint or "unknown"
        HTTP_REQUESTS.labels(request.method, endpoint, str(resp.status_code)).inc()
        started = g.get("metrics_started")
        if started is not None:
            HTTP_LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return resp
