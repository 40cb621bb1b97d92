"""Deprecated endpoints announce it in headers; unknown API versions are 404 problems."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client

from core.deprecation import deprecation_headers

pytestmark = pytest.mark.urls("tests.core.urls_testonly")


def test_a_deprecated_view_answers_with_deprecation_sunset_and_link(db: Any) -> None:
    response = Client().get("/api/v1/test-only/old-thing")

    assert response.status_code == 200
    assert response["Deprecation"] == f"@{int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())}"
    assert response["Deprecation"] == "@1767225600"
    assert response["Sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"
    assert (
        response["Link"] == '<https://daymark.app/docs/migrate-v1-old>; rel="deprecation"; type="text/html"'
    )


def test_errors_of_a_deprecated_view_carry_the_headers_too(db: Any) -> None:
    response = Client().post("/api/v1/test-only/old-thing", {}, content_type="application/json")

    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response["Deprecation"] == "@1767225600"


def test_a_deprecated_function_view_without_sunset_sends_deprecation_only(db: Any) -> None:
    response = Client().get("/api/v1/test-only/old-function")

    assert response["Deprecation"] == "@1767225600"
    assert not response.has_header("Sunset")
    assert not response.has_header("Link")


def test_endpoints_that_are_not_deprecated_send_no_deprecation_headers(db: Any) -> None:
    response = Client().get("/health")

    assert not response.has_header("Deprecation")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deprecation_headers(since=datetime(2026, 1, 1))


def test_a_date_means_midnight_utc() -> None:
    headers = deprecation_headers(since=date(2026, 1, 1), sunset=date(2026, 7, 1))

    assert headers == {"Deprecation": "@1767225600", "Sunset": "Wed, 01 Jul 2026 00:00:00 GMT"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v2/lists"),
        ("get", "/api/v2/anything"),
        ("post", "/api/v2/auth/token"),
        ("get", "/api/v0/lists"),
        ("get", "/api/latest/lists"),
        ("delete", "/api/v1.1/items/1"),
    ],
)
def test_an_unknown_api_version_is_a_404_problem(method: str, path: str, db: Any) -> None:
    response = getattr(Client(), method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404
    assert body["request_id"] == response["X-Request-ID"]
