"""Answers the idempotency layer gives before the view runs (a replay, 422 key reused, 409 key in use)
spend the budgets the view's throttle would spend and carry the RateLimit headers: replaying a key is not
a way around the rate limit. On the local-memory cache and on a real Redis."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.core.test_ratelimit import redis_cache  # noqa: F401  (the fixture)
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
LISTS_URL = "/api/v1/lists"


@pytest.fixture(params=["locmem", "redis"])
def cache_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    return str(request.param)


def _post(user_client: APIClient, body: dict[str, Any], key: str, url: str = LISTS_URL) -> Any:
    return user_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_replays_spend_the_users_budget_and_carry_the_headers(
    cache_backend: str, settings: Any, user_client: APIClient
) -> None:
    settings.RATE_LIMIT_DEFAULT = "3/h"
    first = _post(user_client, {"name": "a"}, "k1")
    replays = [_post(user_client, {"name": "a"}, "k1") for _ in range(3)]

    assert first.status_code == 201
    assert [r.status_code for r in replays] == [201, 201, 429]
    assert replays[0]["Idempotent-Replayed"] == "true"
    assert replays[0]["RateLimit-Policy"] == '"default";q=3;w=3600'
    assert replays[0]["RateLimit"].startswith('"default";r=1;t=')
    assert replays[1]["RateLimit"].startswith('"default";r=0;t=')
    refused = replays[2]
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert "Idempotent-Replayed" not in refused
    assert 1 <= int(refused["Retry-After"]) <= 3600
    # The budget is spent for every request, replayed or not.
    assert user_client.get(LISTS_URL).status_code == 429


def test_a_reused_key_answer_spends_the_budget_too(
    cache_backend: str, settings: Any, user_client: APIClient
) -> None:
    settings.RATE_LIMIT_DEFAULT = "2/h"
    assert _post(user_client, {"name": "a"}, "k1").status_code == 201

    reused = _post(user_client, {"name": "other"}, "k1")
    again = _post(user_client, {"name": "other"}, "k1")

    assert reused.status_code == 422
    assert reused["RateLimit"].startswith('"default";r=0;t=')
    assert again.status_code == 429


def test_a_replayed_login_spends_the_per_ip_budget(
    cache_backend: str, settings: Any, api_client: APIClient, user: Any
) -> None:
    settings.RATE_LIMIT_TOKEN_PER_IP = "2/h"
    body = {"email": user.email, "password": DEFAULT_PASSWORD}

    answers = [_post(api_client, body, "login-1", "/api/v1/auth/token") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1]["Idempotent-Replayed"] == "true"
    assert '"token-ip";q=2;w=3600' in answers[1]["RateLimit-Policy"]


def test_each_user_spends_their_own_budget_on_replays(
    cache_backend: str, settings: Any, user_client: APIClient, other_client: APIClient
) -> None:
    settings.RATE_LIMIT_DEFAULT = "1/h"
    assert _post(user_client, {"name": "a"}, "k1").status_code == 201
    assert _post(user_client, {"name": "a"}, "k1").status_code == 429
    assert _post(other_client, {"name": "a"}, "k1").status_code == 201


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/plain", '{"email": "a@example.com", "password": "x"}'), ("application/json", '{"email": ')],
)
def test_a_reused_key_with_a_login_body_that_does_not_parse_is_a_422_not_a_500(
    user_client: APIClient, content_type: str, body: str
) -> None:
    # Keys are kept per authenticated caller. An answer of the idempotency layer spends the login budgets
    # first, and the per-email one reads the body: a body that does not parse has no email to count
    # (before, the parser's refusal escaped as a 500).
    login = {"email": "a@example.com", "password": "wrong password"}
    assert _post(user_client, login, "login-1", url="/api/v1/auth/token").status_code == 401

    response = user_client.post(
        "/api/v1/auth/token", body, content_type=content_type, HTTP_IDEMPOTENCY_KEY="login-1"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
