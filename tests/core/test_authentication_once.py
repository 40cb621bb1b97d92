"""Authentication runs once per request however many layers ask who the caller is (the idempotency layer,
the rate limit of its early answers, the view), and a request reads its user and spends its budgets in one
Redis round trip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import authentication
from accounts.models import User
from accounts.services.api_keys import api_key_create
from accounts.services.sessions import session_revoke_everywhere
from tests.conftest import client_for
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


@pytest.fixture
def production_cache(redis_cache: str, settings: Any) -> str:  # noqa: F811
    """The production backend (core.cache.OptionalRedisCache) on that Redis, under that prefix."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "BACKEND": "core.cache.OptionalRedisCache"}}
    return redis_cache


@pytest.fixture
def redis_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Redis commands this process sends (they still run)."""
    commands: list[str] = []
    real = redis.Redis.execute_command

    def counting(self: redis.Redis, *args: Any, **options: Any) -> Any:
        commands.append(str(args[0]))
        return real(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    return commands


def test_a_request_reads_its_user_and_spends_its_budget_in_one_redis_round_trip(
    production_cache: str,
    user_client: APIClient,
    redis_commands: list[str],
) -> None:
    user_client.get(LISTS_URL)  # loads the counting script into Redis, and the user's row into the cache
    redis_commands.clear()

    answer = user_client.get(LISTS_URL)

    assert answer.status_code == 200
    assert answer["RateLimit"].startswith('"default";')
    # The token's user row from the shared cache (accounts.user_cache) and the whole budget: one script.
    assert redis_commands == ["EVALSHA"]


def test_a_user_not_cached_yet_is_read_from_the_database_and_added(
    production_cache: str,
    user: User,
    user_client: APIClient,
    redis_commands: list[str],
    django_assert_num_queries: Any,
) -> None:
    user_client.get(LISTS_URL)
    with CaptureQueriesContext(connection) as warm:
        user_client.get(LISTS_URL)
    cache.delete(f"auth-user:{user.pk}")
    redis_commands.clear()

    with django_assert_num_queries(len(warm) + 1):  # the user row, then what a warm request reads
        answer = user_client.get(LISTS_URL)

    assert answer.status_code == 200
    assert redis_commands == ["EVALSHA", "SET"]  # the script found no entry; the row is added (SET NX)
    assert cache.get(f"auth-user:{user.pk}") is not None


def _remaining(answer: Any) -> int:
    return int(answer["RateLimit"].split(";r=")[1].split(";")[0])


def test_a_refused_token_leaves_its_users_budget_as_it_was(
    production_cache: str,
    settings: Any,
    user: User,
) -> None:
    """The budget is spent with the user's read, before the token's user checks: a token those refuse
    (here: revoked by logout everywhere) gives the unit back, so a stolen, revoked token cannot use up the
    user's budget."""
    settings.RATE_LIMIT_DEFAULT = "5/h"  # an hour window: a minute one may roll over mid-test
    revoked = client_for(user)
    assert _remaining(revoked.get(LISTS_URL)) == 4
    session_revoke_everywhere(user=user)

    refused = [revoked.get(LISTS_URL).status_code for _ in range(3)]

    assert refused == [401, 401, 401]
    user.refresh_from_db()  # its token generation moved on
    answer = client_for(user).get(LISTS_URL)
    assert answer.status_code == 200
    assert _remaining(answer) == 3


def test_the_budget_spent_with_the_users_read_still_refuses_at_its_limit(
    production_cache: str,
    settings: Any,
    user_client: APIClient,
    redis_commands: list[str],
) -> None:
    settings.RATE_LIMIT_DEFAULT = "4/h"
    assert _remaining(user_client.get(LISTS_URL)) == 3  # and the user's row is cached
    redis_commands.clear()

    answers = [user_client.get(LISTS_URL) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [_remaining(answer) for answer in answers] == [2, 1, 0, 0]
    assert int(answers[-1]["Retry-After"]) >= 1
    assert redis_commands == ["EVALSHA"] * 4  # one round trip each, the refused one included
