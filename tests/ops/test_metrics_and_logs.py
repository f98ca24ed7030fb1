"""Prometheus metrics behind a token; request ids on every response; JSON log lines on request."""

import json
import logging

import pytest

from statuspage import create_app
from tests.conftest import _reset_tables
from tests.monitor.helpers import apply_yaml


@pytest.fixture
def metrics_app(app_env):
    app = create_app({"TESTING": True}, env={**app_env, "STATUSPAGE_METRICS_TOKEN": "m" * 20,
                                              "STATUSPAGE_LOG_JSON": "true"})
    with app.app_context():
        _reset_tables(app)
        yield app


def test_metrics_need_the_token_and_show_database_gauges(metrics_app):
    client = metrics_app.test_client()
    apply_yaml("page: {name: A}\ncomponents:\n  - id: api\n    name: API\n    checks: "
               "[{id: c, kind: tcp, host: 127.0.0.1, port: 9, interval: 30s}]\n")
    client.get("/healthz")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    resp = client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 20})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert 'statuspage_checks{status="unknown"} 1.0' in body
    assert "statuspage_scheduler_backlog_seconds" in body
    assert 'statuspage_http_requests_total{endpoint="health.healthz",method="GET",status="200"}' in body


def test_every_response_carries_a_request_id_and_logs_are_json(metrics_app, caplog):
    client = metrics_app.test_client()
    resp = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 16
    from statuspage.ops.logs import JsonFormatter

    with caplog.at_level(logging.INFO, logger="statuspage.request"):
        client.get("/healthz", headers={"X-Request-ID": "req-42"})
    record = next(r for r in caplog.records if r.name == "statuspage.request")
    with metrics_app.test_request_context("/healthz"):
        from flask import g

        g.request_id = "req-42"
        line = json.loads(JsonFormatter().format(record))
    assert line["status"] == 200 and line["request_id"] == "req-42" and line["level"] == "info"
