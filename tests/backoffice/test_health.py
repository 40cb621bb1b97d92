"""The health panel: the last hour is the difference between the metrics now and the snapshot of an hour
ago, per route, with percentiles from the latency buckets; the insights cache's hit rate; the page needs
its permission."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from backoffice import health
from backoffice.models import MetricsSnapshot
from tests.conftest import client_for
from tests.factories import UserFactory


def _route(panel: dict[str, Any], view: str, method: str = "GET") -> dict[str, Any]:
    return next(r for r in panel["routes"] if r["route"] == view and r["method"] == method)


def test_the_last_hour_counts_what_happened_since_the_snapshot(db: Any) -> None:
    user = UserFactory.create()
    api = client_for(user)
    api.get("/api/v1/lists")  # before the snapshot: not in the window
    now = timezone.now()
    assert health.snapshot(now=now - timedelta(minutes=30))
    for _ in range(5):
        assert api.get("/api/v1/lists").status_code == 200
    for _ in range(2):
        assert APIClient().get("/api/v1/lists").status_code == 401

    panel = health.last_hour(now=now)
    lists = _route(panel, "v1:list-list")
    assert lists["requests"] == 7
    assert lists["client_error_rate"] == pytest.approx(2 / 7)
    assert lists["error_rate"] == 0
    assert lists["per_minute"] == pytest.approx(7 / 30, rel=0.05)  # from the snapshot's whole minute
    assert 0 < lists["p50_ms"] <= lists["p95_ms"]
    assert panel["db_ms_per_request"] > 0
    assert panel["series"]["requests"] == [7]


@pytest.mark.usefixtures("far_from_midnight")
def test_the_insights_cache_hit_rate(db: Any) -> None:
    api = client_for(UserFactory.create())
    health.snapshot(now=timezone.now() - timedelta(minutes=5))
    for _ in range(4):
        assert api.get("/api/v1/user/insights").status_code == 200
    panel = health.last_hour()
    assert panel["insights_cache_lookups"] == 4
    assert panel["insights_cache_hit_rate"] == pytest.approx(3 / 4)


def test_percentiles_interpolate_within_the_buckets() -> None:
    bounds = [0.1, 0.2, 0.4, "+Inf"]
    # 10 requests under 0.1 s, 10 between 0.1 and 0.2, none slower.
    counts = [10.0, 20.0, 20.0, 20.0]
    assert health._quantile(0.5, bounds, counts) == pytest.approx(0.1)
    assert health._quantile(0.95, bounds, counts) == pytest.approx(0.19)
    assert health._quantile(0.5, bounds, [0.0, 0.0, 0.0, 0.0]) is None


def test_a_counter_lower_than_its_snapshot_means_the_server_restarted() -> None:
    then = {
        "routes": {"GET x": {"b": [50.0, 60.0], "s": 6.0, "n": 60.0, "e": 1.0, "x": 0.0}},
        "db": {"s": 1.0, "n": 100.0},
        "insights": {"hit": 5.0, "miss": 5.0},
    }
    now = {
        "routes": {"GET x": {"b": [3.0, 4.0], "s": 0.4, "n": 4.0, "e": 0.0, "x": 0.0}},
        "db": {"s": 0.1, "n": 8.0},
        "insights": {"hit": 1.0, "miss": 1.0},
    }
    window = health._difference(now, then)
    assert window["routes"]["GET x"]["n"] == 4.0
    assert window["db"] == {"s": 0.1, "n": 8.0}


def test_one_snapshot_a_minute_and_old_ones_pruned(db: Any) -> None:
    now = timezone.now().replace(second=30)
    old = now - timedelta(minutes=health.SNAPSHOT_RETENTION_MINUTES + 5)
    assert health.snapshot(now=old)
    assert health.snapshot(now=now)
    assert not health.snapshot(now=now + timedelta(seconds=10))  # the same minute, another process
    assert list(MetricsSnapshot.objects.values_list("minute", flat=True)) == [
        now.replace(second=0, microsecond=0)
    ]


def test_the_page_needs_its_permission(
    db: Any, make_staff: Callable[..., User], browser_of: Callable[[User], Any]
) -> None:
    page = browser_of(make_staff("backoffice.view_health")).get("/admin/backoffice/health/")
    assert page.status_code == 200
    assert b'id="routes"' in page.content
    assert b'id="chart-requests"' in page.content
    assert (
        browser_of(make_staff("backoffice.view_dashboard")).get("/admin/backoffice/health/").status_code
        == 403
    )
