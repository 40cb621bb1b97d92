"""Service health over the last hour, from the same metrics `/metrics` serves (core.metrics.registry: under
gunicorn, merged over every worker process).

Prometheus counters and histograms are cumulative since the server started, so "the last hour" is a
difference: every serving process's ticker (backoffice.usage.Ticker) stores the cumulative numbers once a
minute (one MetricsSnapshot row per minute, whichever process writes it first), and the panel subtracts
the snapshot of an hour ago from the numbers now. A number lower than its snapshot means the server
restarted in between; then the number now is all there is since (Prometheus' `rate()` does the same).
Percentiles come from the latency histogram's buckets by linear interpolation, as `histogram_quantile`.
"""

from __future__ import annotations

import importlib
import itertools
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.models import MetricsSnapshot
from core.metrics import panel_families, registry

logger = logging.getLogger("daymark.backoffice")

LATENCY = "django_http_requests_latency_seconds_by_view_method"
RESPONSES = "django_http_responses_total_by_status_view_method"
DB_DURATION = "django_db_query_duration_seconds"
INSIGHTS_CACHE = "daymark_insights_cache"
LIVE_SOCKETS = "daymark_live_sockets"
# The same over every ASGI process sharing Redis (live.metrics): the ASGI processes do not write into
# gunicorn's metrics directory, so only this one reaches the panel in production.
LIVE_SOCKETS_ALL = "daymark_live_sockets_all"
SNAPSHOT_RETENTION_MINUTES = 120
WINDOW_MINUTES = 60


def _empty_route() -> dict[str, Any]:
    return {"b": [], "s": 0.0, "n": 0.0, "e": 0.0, "x": 0.0}


def read_metrics(families: Iterable[Any] | None = None) -> dict[str, Any]:
    """The cumulative numbers the panel needs, as one JSON-able dict:
    `routes`: {"GET v1:item-list": {"b": [bucket counts], "s": seconds, "n": requests, "e": 5xx, "x": 4xx}},
    `le`: the bucket bounds, `db`: {"s": seconds, "n": queries}, `insights`: {"hit": n, "miss": n},
    `sockets`: open WebSockets now (a gauge, not a counter)."""
    routes: dict[str, dict[str, Any]] = {}
    bounds: list[float] = []
    buckets: dict[str, dict[float, float]] = {}
    db = {"s": 0.0, "n": 0.0}
    insights = {"hit": 0.0, "miss": 0.0}
    sockets = 0.0
    sockets_all: float | None = None
    if families is None:
        families = itertools.chain(registry().collect(), panel_families())
    for family in families:
        for sample in family.samples:
            labels = sample.labels
            if family.name == LATENCY:
                key = f"{labels['method']} {labels['view']}"
                route = routes.setdefault(key, _empty_route())
                if sample.name.endswith("_bucket"):
                    le = float(labels["le"])
                    buckets.setdefault(key, {})[le] = sample.value
                elif sample.name.endswith("_sum"):
                    route["s"] += sample.value
                elif sample.name.endswith("_count"):
                    route["n"] += sample.value
            elif family.name == RESPONSES and sample.name.endswith("_total"):
                route = routes.setdefault(f"{labels['method']} {labels['view']}", _empty_route())
                status = labels.get("status", "")
                if status.startswith("5"):
                    route["e"] += sample.value
                elif status.startswith("4"):
                    route["x"] += sample.value
            elif family.name == DB_DURATION:
                if sample.name.endswith("_sum"):
                    db["s"] += sample.value
                elif sample.name.endswith("_count"):
                    db["n"] += sample.value
            elif family.name == INSIGHTS_CACHE and sample.name.endswith("_total"):
                result = labels.get("result", "")
                if result in insights:
                    insights[result] += sample.value
            elif family.name == LIVE_SOCKETS and sample.name == LIVE_SOCKETS:
                sockets += sample.value
            elif family.name == LIVE_SOCKETS_ALL and sample.name == LIVE_SOCKETS_ALL:
                sockets_all = (sockets_all or 0.0) + sample.value
    for per_route in buckets.values():
        bounds = sorted(set(bounds) | set(per_route))
    for key, route in routes.items():
        per_route = buckets.get(key, {})
        route["b"] = [per_route.get(le, 0.0) for le in bounds]
    return {
        "routes": routes,
        "le": [le if le != float("inf") else "+Inf" for le in bounds],
        "db": db,
        "insights": insights,
        "sockets": sockets if sockets_all is None else sockets_all,
    }


def snapshot(*, now: datetime | None = None) -> bool:
    """Stores this minute's numbers unless another process already did; prunes the old minutes. True when
    this call wrote the row."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    if MetricsSnapshot.objects.filter(minute=minute).exists():
        return False
    samples = read_metrics()
    samples.pop("sockets")
    try:
        with transaction.atomic():
            MetricsSnapshot.objects.create(minute=minute, samples=samples)
    except IntegrityError:  # another process wrote this minute first
        return False
    MetricsSnapshot.objects.filter(minute__lt=minute - timedelta(minutes=SNAPSHOT_RETENTION_MINUTES)).delete()
    return True


def _since(now: float, then: float) -> float:
    """What a counter grew by; all of `now` when the counter restarted (it went down)."""
    return now - then if now >= then else now


def _quantile(q: float, bounds: list[Any], counts: list[float]) -> float | None:
    """`histogram_quantile` over cumulative bucket counts: seconds, or None without observations."""
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return None
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        upper = float("inf") if bound == "+Inf" else float(bound)
        if count >= rank:
            if upper == float("inf"):
                return previous_bound  # beyond the largest finite bucket: its bound is all we know
            if count == previous_count:
                return upper
            share = (rank - previous_count) / (count - previous_count)
            return previous_bound + (upper - previous_bound) * share
        previous_bound, previous_count = upper, count
    return previous_bound


def _difference(now: dict[str, Any], then: dict[str, Any] | None) -> dict[str, Any]:
    """The numbers of `now` minus those of `then` (the routes, the database, the insights cache)."""
    then = then or {"routes": {}, "db": {"s": 0.0, "n": 0.0}, "insights": {"hit": 0.0, "miss": 0.0}}
    routes: dict[str, dict[str, Any]] = {}
    for key, route in now["routes"].items():
        before = then["routes"].get(key)
        restarted = before is None or route["n"] < before["n"] or len(before["b"]) != len(route["b"])
        if restarted:
            routes[key] = route
            continue
        routes[key] = {
            "b": [_since(a, b) for a, b in zip(route["b"], before["b"], strict=True)],
            "s": _since(route["s"], before["s"]),
            "n": _since(route["n"], before["n"]),
            "e": _since(route["e"], before["e"]),
            "x": _since(route["x"], before["x"]),
        }
    return {
        "routes": routes,
        "db": {k: _since(now["db"][k], then["db"].get(k, 0.0)) for k in ("s", "n")},
        "insights": {k: _since(now["insights"][k], then["insights"].get(k, 0.0)) for k in ("hit", "miss")},
    }


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def last_hour(*, now: datetime | None = None) -> dict[str, Any]:
    """The panel: per route (requests, rate, error rate, p50, p95, mean), overall numbers, a per-minute
    series of requests and errors from consecutive snapshots, the insights cache's hit rate, database time
    per request, open sockets and the worker's queue. Two queries (the snapshots of the hour; the worker's
    health is jobs' own)."""
    now = now or timezone.now()
    snapshots = list(
        MetricsSnapshot.objects.filter(minute__gte=now - timedelta(minutes=WINDOW_MINUTES)).order_by("minute")
    )
    current = read_metrics()
    base = snapshots[0].samples if snapshots else None
    window = _difference(current, base)
    minutes = max((now - snapshots[0].minute).total_seconds() / 60, 1.0) if snapshots else None
    rows = []
    total_requests = total_errors = total_seconds = 0.0
    for key, route in sorted(window["routes"].items(), key=lambda kv: -kv[1]["n"]):
        if route["n"] <= 0:
            continue
        method, _, view = key.partition(" ")
        total_requests += route["n"]
        total_errors += route["e"]
        total_seconds += route["s"]
        p50, p95 = (_quantile(q, current["le"], route["b"]) for q in (0.5, 0.95))
        rows.append(
            {
                "route": view or "(no route)",
                "method": method,
                "requests": int(route["n"]),
                "per_minute": route["n"] / minutes if minutes else None,
                "error_rate": _ratio(route["e"], route["n"]),
                "client_error_rate": _ratio(route["x"], route["n"]),
                "p50_ms": p50 * 1000 if p50 is not None else None,
                "p95_ms": p95 * 1000 if p95 is not None else None,
                "mean_ms": route["s"] / route["n"] * 1000,
            }
        )
    series = _series(snapshots, current, now)
    lookups = window["insights"]["hit"] + window["insights"]["miss"]
    return {
        "since": snapshots[0].minute if snapshots else None,
        "minutes": minutes,
        "routes": rows,
        "requests": int(total_requests),
        "per_minute": total_requests / minutes if minutes else None,
        "error_rate": _ratio(total_errors, total_requests),
        "insights_cache_hit_rate": _ratio(window["insights"]["hit"], lookups),
        "insights_cache_lookups": int(lookups),
        "db_ms_per_request": _ratio(window["db"]["s"] * 1000, total_requests),
        "db_queries_per_request": _ratio(window["db"]["n"], total_requests),
        "live_sockets": int(current["sockets"]),
        "worker": worker_health(),
        "series": series,
    }


def _series(snapshots: list[MetricsSnapshot], current: dict[str, Any], now: datetime) -> dict[str, list[Any]]:
    """Requests and server errors per minute, and the mean database time per request, minute by minute."""
    points = [(s.minute, s.samples) for s in snapshots] + [(now.replace(second=0, microsecond=0), current)]
    labels: list[str] = []
    requests: list[float] = []
    errors: list[float] = []
    db_ms: list[float | None] = []
    for (_, before), (minute, after) in itertools.pairwise(points):
        step = _difference(after, before)
        count = sum(r["n"] for r in step["routes"].values())
        labels.append(f"{minute:%H:%M}")
        requests.append(count)
        errors.append(sum(r["e"] for r in step["routes"].values()))
        db_ms.append(round(step["db"]["s"] * 1000 / count, 2) if count else None)
    return {"labels": labels, "requests": requests, "errors": errors, "db_ms": db_ms}


def worker_health() -> dict[str, Any] | None:
    """The worker's queue depth and lag, as the jobs app reports them (`jobs.selectors.health()`); None
    where the worker app is not installed."""
    try:
        selectors = importlib.import_module("jobs.selectors")
    except ImportError:
        return None
    try:
        result = selectors.health()
    except Exception:  # the panel shows the rest when the worker's tables cannot be read
        logger.warning("Could not read the worker's health", exc_info=True)
        return {"error": "unavailable"}
    return dict(result) if isinstance(result, dict) else {"value": result}
