"""The cached user row behind every access token (accounts/user_cache.py): a warm request reads no user row,
and whatever ends the trust in a user's tokens (logout everywhere, a password change, deactivation,
deletion) refuses them at the next request, with the cache warm, on Redis as production runs it, in this
process and in another server process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import user_cache
from accounts.models import User
from accounts.services.sessions import session_revoke_everywhere, session_tokens
from accounts.services.users import user_activate, user_deactivate
from accounts.user_cache import cached_user
from core.cache import OptionalRedisCache
from tests.conftest import LIVE_SERVERS, client_for
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.faults.conftest import free_port, request
from tests.scratch_database import scratch_database

REDIS_URL = os.environ.get("REDIS_URL_FOR_TESTS", "redis://127.0.0.1:6379/3")
ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "another long enough passphrase"


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[str]:
    """The production cache backend on a real Redis, under a prefix of this test's own."""
    _redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {"BACKEND": "core.cache.OptionalRedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}
    }
    yield prefix
    cache.delete_pattern("*")  # type: ignore[attr-defined]


def _warm(client: APIClient, user: User) -> None:
    assert client.get("/api/v1/lists").status_code == 200
    assert cache.get(f"auth-user:{user.pk}") is not None


@pytest.mark.django_db
def test_a_warm_request_reads_no_user_row(
    redis_cache: str, user_client: APIClient, django_assert_num_queries: Any
) -> None:
    # Cold: 1: the authenticated user (JWT), 2: the spaces the user sees, 3: the page of lists.
    with django_assert_num_queries(3):
        assert user_client.get("/api/v1/lists").status_code == 200
    # Warm: the user comes from the cache. 1: the spaces the user sees, 2: the page of lists.
    with django_assert_num_queries(2):
        assert user_client.get("/api/v1/lists").status_code == 200


@pytest.mark.django_db
def test_the_cache_holds_no_password_hash_and_a_password_check_still_works(
    redis_cache: str, user: User
) -> None:
    cached_user(user.pk)
    entry = cache.get(f"auth-user:{user.pk}")
    assert user.password not in repr(entry)
    assert cast(User, cached_user(user.pk)).check_password(DEFAULT_PASSWORD)


def _logout_all(user: User, client: APIClient) -> None:
    assert client.post("/api/v1/auth/logout-all").status_code == 204


def _password_change(user: User, client: APIClient) -> None:
    body = {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    assert client.post("/api/v1/auth/password/change", body).status_code == 204


def _deactivation(user: User, client: APIClient) -> None:
    user_deactivate(user=user, by_staff=cast(User, UserFactory(is_staff=True)))


def _staff_logout_all(user: User, client: APIClient) -> None:
    session_revoke_everywhere(user=user, by_staff=cast(User, UserFactory(is_staff=True)))


def _deletion(user: User, client: APIClient) -> None:
    assert client.delete("/api/v1/user", {"password": DEFAULT_PASSWORD}, format="json").status_code == 204


EVENTS: dict[str, Callable[[User, APIClient], None]] = {
    "logout everywhere": _logout_all,
    "password change": _password_change,
    "deactivation": _deactivation,
    "staff logout everywhere": _staff_logout_all,
    "account deletion": _deletion,
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("event", EVENTS)
def test_a_token_is_refused_at_once_after(event: str, redis_cache: str) -> None:
    user = cast(User, UserFactory())
    client = client_for(user)
    other = cast(User, UserFactory())
    other_client = client_for(other)
    _warm(client, user)
    _warm(other_client, other)
    EVENTS[event](user, client)
    response = client.get("/api/v1/lists")
    assert response.status_code == 401
    assert response["WWW-Authenticate"]
    # Nobody else's tokens are touched.
    assert other_client.get("/api/v1/lists").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_new_session_works_after_logout_everywhere_and_an_activation(redis_cache: str) -> None:
    user = cast(User, UserFactory())
    client = client_for(user)
    _warm(client, user)
    _logout_all(user, client)
    assert client_for(User.objects.get(pk=user.pk)).get("/api/v1/lists").status_code == 200
    _deactivation(user, client)
    fresh = User.objects.get(pk=user.pk)
    token = session_tokens(user=fresh)["access"]
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/lists").status_code == 401
    user_activate(user=fresh, by_staff=cast(User, UserFactory(is_staff=True)))
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/lists").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_while_redis_is_unreachable_the_row_comes_from_the_database(settings: Any) -> None:
    """Not from the cache's per-process fallback, which another process's revocation would not reach."""
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.OptionalRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "KEY_PREFIX": "unreachable",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    user = cast(User, UserFactory())
    client = client_for(user)
    trusted = user_cache._entry(user.pk)  # the row as it is before the revocation
    assert client.get("/api/v1/lists").status_code == 200
    _logout_all(user, client)
    # Were the fallback read (by the user cache, or by the rate limit's script that shares its round trip),
    # this entry would let the revoked token in.
    cast(OptionalRedisCache, cache).local.set(f"auth-user:{user.pk}", trusted)
    assert client.get("/api/v1/lists").status_code == 401


# --- across processes: two gunicorn servers sharing one database and one Redis ----------------------------


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    _redis_or_skip()
    directory = tmp_path_factory.mktemp("user-cache")
    database, drop = scratch_database(directory, "user_cache")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "user-cache-test-only",
        "DATABASE_URL": database,
        "DATABASE_POOL_MAX_SIZE": "2",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": prefix,
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "2",
        # Limits on (the user's read then shares the rate limit's round trip), too high to refuse anything.
        "RATE_LIMIT_DEFAULT": "100000/m",
        "RATE_LIMIT_AUTH_FAILURES_PER_IP": "100000/m",
        "RATE_LIMIT_REGISTER_PER_IP": "100000/h",
        "LOG_LEVEL": "WARNING",
        "BACKOFFICE_TICK_SECONDS": "0",
    }
    processes: list[subprocess.Popen[bytes]] = []
    ports = (free_port(), free_port())
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
        for n, port in enumerate(ports):
            (directory / f"metrics{n}").mkdir()
            server_env = {
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "PROMETHEUS_MULTIPROC_DIR": str(directory / f"metrics{n}"),
            }
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
                    cwd=ROOT,
                    env=server_env,
                    stdout=(directory / f"server{n}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 60
        for port, process in zip(ports, processes, strict=True):
            while request(port, "GET", "/health").status != 200:
                assert process.poll() is None, "a server did not start"
                assert time.monotonic() < deadline, "a server did not start"
                time.sleep(0.2)
        yield ports
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        drop()


def _register(port: int) -> str:
    email = f"cache-{uuid.uuid4().hex[:12]}@example.com"
    answer = request(
        port, "POST", "/api/v1/auth/register", body={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert answer.status == 201, answer.body
    return str(answer.body["access"])


SERVER_EVENTS: dict[str, tuple[str, str, dict[str, str] | None, int]] = {
    "logout everywhere": ("POST", "/api/v1/auth/logout-all", None, 204),
    "password change": (
        "POST",
        "/api/v1/auth/password/change",
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        204,
    ),
    "account deletion": ("DELETE", "/api/v1/user", {"password": DEFAULT_PASSWORD}, 204),
}


@LIVE_SERVERS
@pytest.mark.parametrize("event", SERVER_EVENTS)
def test_another_server_process_refuses_the_token_at_once_after(
    event: str, two_servers: tuple[int, int]
) -> None:
    first, second = two_servers
    token = _register(first)
    for port in (first, second):
        assert request(port, "GET", "/api/v1/lists", token=token).status == 200
    method, path, body, status = SERVER_EVENTS[event]
    assert request(first, method, path, token=token, body=body).status == status
    assert request(second, "GET", "/api/v1/lists", token=token).status == 401
    assert request(first, "GET", "/api/v1/lists", token=token).status == 401
