"""Authentication runs once per request however many layers ask who the caller is (the idempotency layer,
the rate limit of its early answers, the view), and the rate limit spends its budgets in one Redis round
trip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from rest_framework.test import APIClient

from accounts import authentication
from accounts.models import User
from accounts.services.api_keys import api_key_create
from tests.core.test_ratelimit import redis_cache  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
LISTS_URL = "/api/v1/lists"


@pytest.fixture
def key_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys the API key authentication looked up (the real lookup still runs)."""
    seen: list[str] = []
    real: Callable[..., Any] = authentication.api_key_authenticate

    def counting(*, key: str) -> Any:
        seen.append(key)
        return real(key=key)

    monkeypatch.setattr(authentication, "api_key_authenticate", counting)
    return seen


@pytest.fixture
def key_client(user: User) -> APIClient:
    _, key = api_key_create(user=user, name="ci", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_a_post_with_an_idempotency_key_authenticates_once(
    key_client: APIClient, key_lookups: list[str]
) -> None:
    assert key_client.post(LISTS_URL, {"name": "a"}, HTTP_IDEMPOTENCY_KEY="k1").status_code == 201
    assert len(key_lookups) == 1


def test_a_replayed_post_authenticates_once(key_client: APIClient, key_lookups: list[str]) -> None:
    key_client.post(LISTS_URL, {"name": "a"}, HTTP_IDEMPOTENCY_KEY="k1")
    key_lookups.clear()

    replay = key_client.post(LISTS_URL, {"name": "a"}, HTTP_IDEMPOTENCY_KEY="k1")

    assert replay["Idempotent-Replayed"] == "true"
    assert replay["RateLimit-Policy"].startswith('"default"')
    assert len(key_lookups) == 1


def test_a_refused_key_is_looked_up_and_counted_once(
    redis_cache: str,  # noqa: F811
    settings: Any,
    key_lookups: list[str],
) -> None:
    settings.RATE_LIMIT_AUTH_FAILURES_PER_IP = "2/h"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key dmk_000000000000_" + "x" * 43)

    statuses = [client.post(LISTS_URL, {}, HTTP_IDEMPOTENCY_KEY=f"k{n}").status_code for n in range(3)]

    assert statuses == [401, 401, 429]
    assert len(key_lookups) == 3


def test_a_request_spends_its_budget_in_one_redis_round_trip_after_its_user_row(
    redis_cache: str,  # noqa: F811
    user_client: APIClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_client.get(LISTS_URL)  # loads the counting script into Redis
    commands: list[str] = []
    real = redis.Redis.execute_command

    def counting(self: redis.Redis, *args: Any, **options: Any) -> Any:
        commands.append(str(args[0]))
        return real(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)

    answer = user_client.get(LISTS_URL)

    assert answer.status_code == 200
    assert answer["RateLimit"].startswith('"default";')
    # The token's user row from the shared cache (accounts.user_cache), then the whole budget in one script.
    assert commands == ["GET", "EVALSHA"]
