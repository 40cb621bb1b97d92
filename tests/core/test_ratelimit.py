"""Rate limits on a real Redis: exact under concurrency, shared by processes, keyed by the real client IP,
and stopping password guessing both per email and per IP."""

from __future__ import annotations

import http.client
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
from core.checks import rate_limit_settings
from core.ratelimit import client_ip, client_ip_key, parse_rate
from tests.conftest import LIVE_SERVERS, client_for
from tests.factories import UserFactory
from tests.ports import free_port
from tests.ratelimit_clock import clear_of_window_edge

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


def _prepared_env(tmp_path: Path, cache_prefix: str, **settings_env: str) -> dict[str, str]:
    """The environment of a gunicorn on one SQLite database and the test's Redis, migrated."""
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
    return env


@contextmanager
def _gunicorns(binds: list[str], env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    servers = [
        subprocess.Popen(
            [gunicorn, "config.wsgi", "-b", bind, "-w", "1", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for bind in binds
    ]
    try:
        yield servers
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


@contextmanager
def two_servers(tmp_path: Path, cache_prefix: str, **settings_env: str) -> Iterator[list[int]]:
    """Two gunicorn processes on one SQLite database and the test's Redis; yields their ports."""
    env = _prepared_env(tmp_path, cache_prefix, **settings_env)
    ports = [free_port(), free_port()]
    with _gunicorns([f"127.0.0.1:{port}" for port in ports], env) as servers:
        for port, server in zip(ports, servers, strict=True):
            _wait_for(port, server)
        yield ports


def status_of(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    """The status of one request; the first to a new server waits for its worker to boot Django."""
    method = "POST" if data is not None else "GET"
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@LIVE_SERVERS
def test_two_processes_share_one_budget(redis_cache: str, tmp_path: Path) -> None:
    with two_servers(tmp_path, redis_cache, RATE_LIMIT_TOKEN_PER_IP="7/h") as ports:
        clear_of_window_edge("7/h")
        statuses = [
            status_of(
                f"http://127.0.0.1:{ports[n % 2]}/api/v1/auth/token",
                data=b"{}",
                headers={"Content-Type": "application/json"},
            )
            for n in range(10)
        ]
    assert statuses == [400] * 7 + [429] * 3


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=30)
        self.path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


def test_behind_a_proxy_on_a_unix_socket_each_client_keeps_its_own_budget(
    redis_cache: str, tmp_path: Path
) -> None:
    """gunicorn on a Unix socket gives no peer address; with `unix` in TRUSTED_PROXIES the client is the one
    the proxy forwarded, not one budget for everybody."""
    sock = tmp_path / "g.sock"
    env = _prepared_env(tmp_path, redis_cache, RATE_LIMIT_TOKEN_PER_IP="3/h", TRUSTED_PROXIES="unix")

    def status(forwarded_for: str) -> int:
        connection = _UnixConnection(sock)
        try:
            connection.request(
                "POST",
                "/api/v1/auth/token",
                body=b"{}",
                headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded_for},
            )
            return connection.getresponse().status
        finally:
            connection.close()

    with _gunicorns([f"unix:{sock}"], env) as (server,):
        for _ in range(100):
            if sock.exists() or server.poll() is not None:
                break
            time.sleep(0.1)
        clear_of_window_edge("3/h", "ip:198.51.100.20", "ip:198.51.100.21")
        first = [status("198.51.100.20") for _ in range(4)]
        other = status("198.51.100.21")

    assert first == [400] * 3 + [429]
    assert other == 400


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

    def test_a_dual_stack_peer_is_the_same_proxy_and_the_same_client(self, settings: Any) -> None:
        settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
        request = self._request("::ffff:127.0.0.1", "::ffff:203.0.113.5")
        assert client_ip(request) == "203.0.113.5"
        assert client_ip_key(request) == client_ip_key(self._request("203.0.113.5"))

    def test_a_unix_socket_peer_is_trusted_only_when_named(self, settings: Any) -> None:
        settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
        assert client_ip(self._request("", "203.0.113.5")) == ""
        settings.TRUSTED_PROXIES = ["127.0.0.1/32", "unix"]
        assert client_ip(self._request("", "203.0.113.5")) == "203.0.113.5"

    def test_garbage_in_forwarded_for_stops_the_walk(self, settings: Any) -> None:
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
        assert client_ip(self._request("10.0.0.1", "203.0.113.5, <script>")) == "10.0.0.1"

    @pytest.mark.parametrize(
        ("rate", "parsed"), [("600/m", (600, 60)), ("5/h", (5, 3600)), ("3/10s", (3, 10))]
    )
    def test_rates_parse(self, rate: str, parsed: tuple[int, int]) -> None:
        assert parse_rate(rate) == parsed


def test_a_rate_or_proxy_that_would_fail_every_request_fails_the_system_check(settings: Any) -> None:
    settings.RATE_LIMIT_DEFAULT = "600/minute"
    settings.RATE_LIMIT_LOGIN_KNOWN_ADDRESS_DAYS = 0
    settings.TRUSTED_PROXIES = ["127.0.0.1/32", "unix", "10.0.0.300/8"]

    problems = {(error.obj, error.msg.split(":")[0]) for error in rate_limit_settings()}

    assert problems == {
        ("RATE_LIMIT_DEFAULT", "Not a rate"),
        ("RATE_LIMIT_LOGIN_KNOWN_ADDRESS_DAYS", "RATE_LIMIT_LOGIN_KNOWN_ADDRESS_DAYS must be at least 1."),
        ("TRUSTED_PROXIES", "Not a network"),
    }


def test_the_shipped_settings_pass_the_system_check() -> None:
    assert rate_limit_settings() == []
