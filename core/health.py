"""Liveness and readiness (docs/api/README.md). Plain Django views: no auth, no throttling, no database for
/health."""

from __future__ import annotations

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

from core.problems import problem_response

logger = logging.getLogger("daymark.health")


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("readiness: database check failed", exc_info=True)
        return "failing"
    return "ok"


def _check_cache() -> str:
    probe = f"ready:{uuid.uuid4().hex}"
    try:
        cache.set(probe, "1", timeout=5)
        ok = cache.get(probe) == "1"
        cache.delete(probe)
    except Exception:
        logger.warning("readiness: cache check failed", exc_info=True)
        return "failing"
    return "ok" if ok else "failing"


def ready(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check_database(), "cache": _check_cache()}
    if all(result == "ok" for result in checks.values()):
        return JsonResponse({"status": "ready", "checks": checks})
    failing = ", ".join(name for name, result in checks.items() if result != "ok")
    response = problem_response(503, "service_unavailable", f"Failing checks: {failing}.", checks=checks)
    response["Retry-After"] = "5"
    return response
