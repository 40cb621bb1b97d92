"""/metrics: Prometheus text, counts by view and status, behind METRICS_TOKEN, merged across workers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from django.test import Client
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from tests.conftest import LIVE_SERVERS
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
RESPONSES = "django_http_responses_total_by_status_view_method_total"
LATENCY = "django_http_requests_latency_seconds_by_view_method_count"


def _responses(view: str, status: str, method: str = "GET") -> float:
    labels = {"view": view, "status": status, "method": method}
    return REGISTRY.get_sample_value(RESPONSES, labels) or 0.0


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[line.index("{") : line.index("}")]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_request_counts_by_view_and_status_go_up(user_client: APIClient, api_client: APIClient) -> None:
    ok_before = _responses("v1:list-list", "200")
    denied_before = _responses("v1:list-list", "401")
    latency_before = REGISTRY.get_sample_value(LATENCY, {"view": "v1:list-list", "method": "GET"}) or 0.0

    for _ in range(3):
        user_client.get("/api/v1/lists")
    api_client.get("/api/v1/lists")

    assert _responses("v1:list-list", "200") == ok_before + 3
    assert _responses("v1:list-list", "401") == denied_before + 1
    latency_after = REGISTRY.get_sample_value(LATENCY, {"view": "v1:list-list", "method": "GET"})
    assert latency_after == latency_before + 4


def test_metrics_is_prometheus_text_with_request_database_and_cache_metrics(
    user_client: APIClient, settings: Any
) -> None:
    settings.METRICS_TOKEN = ""
    user_client.get("/api/v1/lists")
    user_client.get("/ready")

    response = Client().get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    assert _sample(text, RESPONSES, view="v1:list-list", status="200") >= 1
    assert "django_db_execute_total" in text
    assert "django_db_query_duration_seconds" in text
    assert "django_cache_get_total" in text


def test_metrics_needs_the_token_when_one_is_set(settings: Any, db: Any) -> None:
    settings.METRICS_TOKEN = "metrics-scrape-token-0123456789"

    missing = Client().get("/metrics")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-scrape-token-012345678")
    wrong_scheme = Client().get("/metrics", HTTP_AUTHORIZATION="Basic metrics-scrape-token-0123456789")
    right = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-scrape-token-0123456789")

    for refused in (missing, wrong, wrong_scheme):
        assert refused.status_code == 401
        assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"django_http" not in refused.content
    assert right.status_code == 200
    assert b"django_http_requests_total_by_method" in right.content


def test_metrics_needs_no_jwt_and_only_answers_get(settings: Any, db: Any) -> None:
    settings.METRICS_TOKEN = ""

    assert Client().get("/metrics").status_code == 200
    assert Client().post("/metrics").status_code == 405


def _get(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  (a loaded machine)
        return response.status, response.read().decode()


@LIVE_SERVERS
def test_metrics_are_merged_across_gunicorn_workers(tmp_path: Path) -> None:
    port = free_port()
    token = "multiprocess-test-token"
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "metrics-test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "3",
        "GUNICORN_THREADS": "1",
        "GUNICORN_KEEPALIVE": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "METRICS_TOKEN": token,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        # Wait on /ready, not /health: a poll that times out on a loaded machine still reaches the server
        # and would count as one more /health response than the test sent.
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(f"{base}/ready", token)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        for _ in range(30):
            assert _get(f"{base}/health", token)[0] == 200

        # Each scrape lands on any one worker; all of them report the same merged total.
        totals = {_sample(_get(f"{base}/metrics", token)[1], RESPONSES, view="health") for _ in range(6)}

        assert totals == {30.0}
    finally:
        server.terminate()
        server.wait(timeout=30)
