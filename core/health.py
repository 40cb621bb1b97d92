"""Liveness and readiness (docs/api/README.md). Plain Django views: no auth, no throttling, no database for
/health.

/ready answers within about the pool timeout (DATABASE_POOL_TIMEOUT_SECONDS) plus the cache's socket
timeout, even while a dependency is down or hung. The database is required: without it /ready is 503. The
cache is optional (core/cache.py): without it /ready stays 200 with `"status": "degraded"` and
`checks.cache: "failing"`, so the balancer keeps an instance that serves, while monitoring sees the fault.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

from core.dependencies import DATABASE
from core.problems import problem_response


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        DATABASE.failed(error)  # logged once per interval
        return "failing"
    return "ok"


def _check_cache() -> str:
    ping = getattr(cache, "ping", None)
    if ping is not None:  # Redis (core/cache.py): Redis itself, never its local fallback
        return "ok" if ping() else "failing"
    probe = f"ready:{uuid.uuid4().hex}"
    cache.set(probe, "1", timeout=5)
    ok = cache.get(probe) == "1"
    cache.delete(probe)
    return "ok" if ok else "failing"


def ready(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "cache": _check_cache()}
    if checks["database"] == "ok":
        return JsonResponse({"status": "ready" if checks["cache"] == "ok" else "degraded", "checks": checks})
    failing = ", ".join(name for name, result in checks.items() if result != "ok")
    response = problem_response(503, "service_unavailable", f"Failing checks: {failing}.", checks=checks)
    response["Retry-After"] = str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response
