"""Prometheus metrics (docs/api/README.md): `/metrics`, aggregated over every gunicorn worker.

Under gunicorn, config/gunicorn.py sets PROMETHEUS_MULTIPROC_DIR before any worker imports
prometheus_client; each worker then writes its samples to files there, and this view merges them.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import prometheus_client
from django.conf import settings
from django.core.cache.backends import locmem
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from django_prometheus.cache.metrics import (
    django_cache_get_total,
    django_cache_hits_total,
    django_cache_misses_total,
)
from prometheus_client import multiprocess

from core.problems import problem_response

_MISSING = object()

# Collectors whose values are read at scrape time from shared state (the database), added by apps above core
# from their AppConfig.ready() (jobs: the queue and the periodic jobs). Kept apart from prometheus_client's
# registries: those would call them at registration, and under gunicorn the per-process samples are merged
# from files, where a value every process reads the same must appear once.
_shared_collectors = prometheus_client.CollectorRegistry(auto_describe=False)


# Of those, the ones the back office's panel reads too (cheap: no database).
_panel_collectors = prometheus_client.CollectorRegistry(auto_describe=False)


def add_collector(collector: Any, *, panel: bool = False) -> None:
    _shared_collectors.register(collector)
    if panel:
        _panel_collectors.register(collector)


def panel_families() -> Any:
    """The shared values the back office shows (the live sockets over every ASGI process)."""
    return _panel_collectors.collect()


def _authorized(request: HttpRequest) -> bool:
    expected = settings.METRICS_TOKEN
    if not expected:
        return True
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # Constant time, so the token cannot be guessed byte by byte from response times.
    return scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode(), expected.encode())


def registry() -> prometheus_client.CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return prometheus_client.REGISTRY


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        response = problem_response(401, "not_authenticated", "Send Authorization: Bearer <METRICS_TOKEN>.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = prometheus_client.generate_latest(registry())
    body += prometheus_client.generate_latest(_shared_collectors)
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)


class LocMemCache(locmem.LocMemCache):
    """The local-memory cache with hit and miss counts. (django-prometheus' own returns the default for
    any falsy cached value, such as a counter at 0.)"""

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        django_cache_get_total.labels(backend="locmem").inc()
        value = super().get(key, _MISSING, version=version)
        if value is _MISSING:
            django_cache_misses_total.labels(backend="locmem").inc()
            return default
        django_cache_hits_total.labels(backend="locmem").inc()
        return value
