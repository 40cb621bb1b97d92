"""A live gunicorn (config/gunicorn.py) whose PostgreSQL and Redis are reached through `FaultProxy`s the
test controls, on the test database (flushed after each test). The shared services are never stopped."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings

from tests.faults.proxy import FaultProxy
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL_FOR_TESTS", "redis://127.0.0.1:6379/3")
# Every answer during an outage must come within this (issue #13); a client would wait 5 s at most.
ANSWER_WITHIN = 2.0
PASSPHRASE = "a long enough passphrase"


@dataclass
class Answer:
    status: int
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def request(
    port: int,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    timeout: float = 5.0,
) -> Answer:
    """One request on a new connection; a connection error or timeout is status 0."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        status = response.status
    except OSError:
        return Answer(0, time.monotonic() - started)
    finally:
        conn.close()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(status, time.monotonic() - started, answer_headers, parsed)


@dataclass
class LiveServer:
    port: int
    database: FaultProxy
    cache: FaultProxy
    log: Path

    def get(self, path: str, token: str | None = None) -> Answer:
        return request(self.port, "GET", path, token=token)

    def post(self, path: str, body: Any, token: str | None = None) -> Answer:
        return request(self.port, "POST", path, token=token, body=body)

    def register(self) -> tuple[str, str]:
        """A new user: (email, access token)."""
        email = f"fault-{uuid.uuid4().hex[:12]}@example.com"
        answer = self.post("/api/v1/auth/register", {"email": email, "password": PASSPHRASE})
        assert answer.status == 201, answer
        return email, str(answer.body["access"])

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_text(self, since: int = 0) -> str:
        with self.log.open("rb") as log:
            log.seek(since)
            return log.read().decode(errors="replace")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stops a server this test started (SIGTERM, then SIGKILL after 15 s)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _wait_until_ready(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()}")
        if request(port, "GET", "/ready", timeout=2).status == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn never got ready:\n{log.read_text()}")


@pytest.fixture(scope="session")
def live_server_behind_proxies(
    django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """gunicorn with 2 workers x 4 threads, pools of 2 to 4 connections, on the test database; one for
    all fault tests (each leaves both proxies passing). Tests using it carry `django_db(transaction=True)`:
    pytest-django then creates the test database, and empties it after each test of the rows the server
    wrote, which other tests must not see."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    tmp_path = tmp_path_factory.mktemp("live")
    db = settings.DATABASES["default"]
    redis_url = urlsplit(REDIS_URL)
    database = FaultProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    cache = FaultProxy(redis_url.hostname or "127.0.0.1", redis_url.port or 6379)
    port = free_port()
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "fault-tests-only",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"postgres://{credentials}@127.0.0.1:{database.port}/{db['NAME']}",
        "DATABASE_POOL_MIN_SIZE": "2",
        "DATABASE_POOL_MAX_SIZE": "4",
        "REDIS_URL": f"redis://127.0.0.1:{cache.port}{redis_url.path or '/0'}",
        "CACHE_KEY_PREFIX": f"faults-{uuid.uuid4().hex[:12]}",
        "CACHE_RETRY_SECONDS": "1",
        # Rate limiting is tested in tests/core/test_ratelimit.py; here logins must not run out.
        "RATE_LIMIT_TOKEN_PER_IP": "1000/m",
        "RATE_LIMIT_TOKEN_PER_EMAIL": "1000/m",
        "RATE_LIMIT_REGISTER_PER_IP": "1000/h",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_ready(port, server, log)
        yield LiveServer(port, database, cache, log)
    finally:
        stop(server)
        database.close()
        cache.close()
