"""gunicorn settings for production: `gunicorn -c config/gunicorn.py config.wsgi` (or `make serve`).

Every value can be changed from the environment (docs/deployment.md lists them). The app writes its own
access line per request (core.middleware.AccessLogMiddleware), so gunicorn's access log stays off.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# --- Where and how many -------------------------------------------------------------------------------------
bind = [os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_int('PORT', 8000)}"]
# Processes; each runs `threads` requests at once. Each process has its own database pool
# (DATABASE_POOL_MAX_SIZE), so workers x that must fit the database (docs/deployment.md).
workers = _int("GUNICORN_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 8))
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)
# Recycles a worker after this many requests (with jitter, so they do not all restart at once).
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# --- Time limits --------------------------------------------------------------------------------------------
# A worker silent this long is killed and replaced (a stuck request cannot hold it forever).
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (deploys, scale-in), requests in flight get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Idle keep-alive connections from the load balancer; keep it above the balancer's own idle timeout.
keepalive = _int("GUNICORN_KEEPALIVE", 75)

# --- Request limits ---------------------------------------------------------------------------------------
# gunicorn refuses a longer request line with 414 and a longer header, or more headers, with 431, before the
# app runs; post_worker_init below makes those answers problem+json. The reverse proxy in front has its own
# (smaller) limits and answers first; these hold when gunicorn is reached directly.
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 4094)
limit_request_field_size = _int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 8190)
limit_request_fields = _int("GUNICORN_LIMIT_REQUEST_FIELDS", 100)

# --- Logs ---------------------------------------------------------------------------------------------------
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The load balancer's address is trusted for X-Forwarded-Proto (DJANGO_BEHIND_TLS_PROXY).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# --- Metrics across workers ---------------------------------------------------------------------------------
# prometheus_client's multiprocess mode: every worker writes its samples to files in this directory and
# /metrics merges them. It must be set before any worker imports prometheus_client, hence here.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="daymark-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server: Any) -> None:
    """Samples of a previous run would be counted again: start from an empty directory."""
    directory = Path(_metrics_dir)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges must not be reported any more (its counters are kept)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker: Any) -> None:
    """gunicorn's own error answers (414, 431, malformed requests) are problem+json (core/gunicorn_errors)."""
    from core import gunicorn_errors

    gunicorn_errors.install()
