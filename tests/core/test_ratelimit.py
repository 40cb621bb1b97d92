"""Rate limits on a real Redis: exact under concurrency, shared by processes, keyed by the real client IP,
and stopping password guessing both per email and per IP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from django.db import connections
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.api_keys import api_key_create
from core.ratelimit import client_ip, parse_rate
from tests.conftest import client_for
from tests.factories import UserFactory

REDIS_URL = os.environ.get("REDIS_URL_FOR_TESTS", "redis://127.0.0.1:6379/3")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_cache(settings: Any) -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": prefix}
    }
    return prefix


def _bad_login(user_client: APIClient, email: str, ip: str | None = None) -> int:
    extra: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": ip} if ip else {}
    return user_client.post(
        "/api/v1/auth/token", {"email": email, "password": "not the password"}, **extra
    ).status_code


@pytest.mark.django_db(transaction=True)
def test_the_limit_is_exact_under_concurrent_requests(redis_cache: str, settings: Any) -> None:
    settings.RATE_LIMIT_DEFAULT = "25/h"  # an hour window: a minute one may roll over mid-test
    user = cast(User, UserFactory())
    token_client = client_for(user)

    def one_request(_: int) -> int:
        try:
            return token_client.get("/api/v1/lists").status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = Counter(pool.map(one_request, range(60)))
    assert statuses == {200: 25, 429: 35}


@pytest.mark.django_db
def test_a_refused_request_is_a_problem_with_retry_after(redis_cache: str, settings: Any, user: User) -> None:
    settings.RATE_LIMIT_DEFAULT = "3/h"
    client = client_for(user)
    answers = [client.get("/api/v1/lists") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0]["RateLimit-Policy"] == '"default";q=3;w=3600'
    assert answers[0]["RateLimit"].startswith('"default";r=2;t=')
    refused = answers[-1]
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert refused["RateLimit"].startswith('"default";r=0;t=')


@pytest.mark.django_db
def test_users_have_separate_budgets(redis_cache: str, settings: Any, user: User, other_user: User) -> None:
    settings.RATE_LIMIT_DEFAULT = "1/h"
    assert client_for(user).get("/api/v1/lists").status_code == 200
    assert client_for(user).get("/api/v1/lists").status_code == 429
    assert client_for(other_user).get("/api/v1/lists").status_code == 200


@pytest.mark.django_db
def test_an_admin_key_gets_the_multiplied_budget(redis_cache: str, settings: Any, user: User) -> None:
    settings.RATE_LIMIT_DEFAULT = "2/h"
    settings.RATE_LIMIT_ADMIN_KEY_MULTIPLIER = 5
    _, key = api_key_create(user=user, name="ops", scopes=["read"], is_admin=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    answers = [client.get("/api/v1/lists") for _ in range(11)]

    assert [a.status_code for a in answers] == [200] * 10 + [429]
    assert answers[0]["RateLimit-Policy"] == '"default";q=10;w=3600'


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_reset_the_budget(
    redis_cache: str, settings: Any
) -> None:
    settings.TRUSTED_PROXIES = []
    settings.RATE_LIMIT_REGISTER_PER_IP = "3/h"
    client = APIClient()
    statuses = [
        client.post("/api/v1/auth/register", {}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(5)
    ]
    assert statuses == [400, 400, 400, 429, 429]


@pytest.mark.django_db
def test_brute_force_on_one_email_from_many_ips_is_stopped(
    redis_cache: str, settings: Any, user: User
) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    client = APIClient()
    statuses = [_bad_login(client, user.email, f"198.51.100.{n}") for n in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    # The right password is refused too from an address that never logged in to the account.
    good = client.post(
        "/api/v1/auth/token",
        {"email": user.email, "password": "a-long-enough-test-password"},
        HTTP_X_FORWARDED_FOR="198.51.100.200",
    )
    assert good.status_code == 429


@pytest.mark.django_db
def test_brute_force_from_one_ip_on_many_emails_is_stopped(redis_cache: str, settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    client = APIClient()
    statuses = [_bad_login(client, f"victim{n}@example.com", "198.51.100.7") for n in range(12)]
    assert statuses == [401] * 10 + [429] * 2
    assert _bad_login(client, "another@example.com", "198.51.100.8") == 401


@pytest.mark.django_db
def test_password_reset_is_limited_per_ip(redis_cache: str, settings: Any) -> None:
    client = APIClient()
    statuses = [
        client.post("/api/v1/auth/password/reset", {"email": f"u{n}@example.com"}).status_code
        for n in range(6)
    ]
    assert statuses == [202] * 5 + [429]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(100):
        if process.poll() is not None:
            raise RuntimeError(
                f"server on {port} exited: {process.stderr.read() if process.stderr else ''!r}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


@contextmanager
def two_servers(tmp_path: Path, cache_prefix: str, **settings_env: str) -> Iterator[list[int]]:
    """Two gunicorn processes on one SQLite database and the test's Redis; yields their ports."""
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "two-process-test-secret",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": cache_prefix,
        **settings_env,
    }
    # Refused auth attempts are written to the audit log, so the servers need a database.
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [gunicorn, "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    try:
        for port, server in zip(ports, servers, strict=True):
            _wait_for(port, server)
        yield ports
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def status_of(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    method = "POST" if data is not None else "GET"
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_two_processes_share_one_budget(redis_cache: str, tmp_path: Path) -> None:
    with two_servers(tmp_path, redis_cache, RATE_LIMIT_TOKEN_PER_IP="7/h") as ports:
        statuses = [
            status_of(
                f"http://127.0.0.1:{ports[n % 2]}/api/v1/auth/token",
                data=b"{}",
                headers={"Content-Type": "application/json"},
            )
            for n in range(10)
        ]
    assert statuses == [400] * 7 + [429] * 3


class TestClientIp:
    def _request(self, remote: str, forwarded: str | None = None) -> Any:
        extra: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
        return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)

    def test_it_ignores_forwarded_for_from_an_untrusted_peer(self, settings: Any) -> None:
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
        assert client_ip(self._request("192.0.2.9", "203.0.113.5")) == "192.0.2.9"

    def test_it_takes_the_nearest_untrusted_hop_behind_trusted_proxies(self, settings: Any) -> None:
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
        request = self._request("10.0.0.1", "1.1.1.1, 203.0.113.5, 10.0.0.2")
        assert client_ip(request) == "203.0.113.5"

    def test_garbage_in_forwarded_for_stops_the_walk(self, settings: Any) -> None:
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
        assert client_ip(self._request("10.0.0.1", "203.0.113.5, <script>")) == "10.0.0.1"

    @pytest.mark.parametrize(
        ("rate", "parsed"), [("600/m", (600, 60)), ("5/h", (5, 3600)), ("3/10s", (3, 10))]
    )
    def test_rates_parse(self, rate: str, parsed: tuple[int, int]) -> None:
        assert parse_rate(rate) == parsed
