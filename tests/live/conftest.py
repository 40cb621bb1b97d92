"""Live ASGI servers (uvicorn, config.asgi) on the test database and one Redis, and a WebSocket client.

The servers use the test database pytest-django made (tests using them carry
`django_db(transaction=True)`, so what the test writes is committed and the servers see it, and it is
emptied after each test), share a Redis database through a key prefix of their own, and sign tokens with
this process's secret key, so tokens made here open sockets there. This process is pointed at the same
Redis prefix: a write it makes through the services publishes its event on the pub/sub channel the servers
listen to, and pokes their sockets as a write of theirs would.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL_FOR_TESTS", "redis://127.0.0.1:6379/1")
PREFIX = f"live-tests-{uuid.uuid4().hex[:10]}"
# Short, so heartbeats and silence are seen within a test; 3 s leaves a loaded machine 9 s of silence.
HEARTBEAT = 3
PRESENCE_TTL = 3
PRESENCE_REFRESH = 1
SOCKETS_REPORT = 1


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/stream"

    def request(self, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
        finally:
            conn.close()

    def ticket(self, token: str) -> str:
        status, body = self.request("POST", "/api/v1/stream/ticket", token)
        assert status == 201, body
        return str(body["ticket"])


def start_server(tmp: Path, name: str, **extra: str) -> Server:
    db = settings.DATABASES["default"]
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"postgres://{credentials}@{host}/{db['NAME']}",
        "DATABASE_POOL_MIN_SIZE": "1",
        "DATABASE_POOL_MAX_SIZE": "4",
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": f"{PREFIX}:cache",
        "LIVE_KEY_PREFIX": PREFIX,
        "LIVE_HEARTBEAT_SECONDS": str(HEARTBEAT),
        "LIVE_PRESENCE_TTL_SECONDS": str(PRESENCE_TTL),
        "LIVE_PRESENCE_REFRESH_SECONDS": str(PRESENCE_REFRESH),
        "LIVE_SOCKETS_REPORT_SECONDS": str(SOCKETS_REPORT),
        "RATE_LIMIT_ENABLE": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG_LEVEL": "WARNING",
        **extra,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "config.asgi_server",  # the options of `make asgi`
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, process, log)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited:\n{log.read_text()}")
        try:
            if server.request("GET", "/health")[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn never answered:\n{log.read_text()}")
        time.sleep(0.2)


def stop_server(server: Server, sig: int = signal.SIGTERM) -> None:
    if server.process.poll() is None:
        server.process.send_signal(sig)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=15)


@pytest.fixture(scope="session")
def _redis() -> Iterator[None]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    yield
    for key in client.scan_iter(f"{PREFIX}*"):
        client.delete(key)
    for key in client.scan_iter(f"*{PREFIX}*"):
        client.delete(key)


@pytest.fixture(scope="session")
def servers(
    django_db_setup: Any, _redis: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two ASGI processes sharing the test database and one Redis (A and B)."""
    tmp = tmp_path_factory.mktemp("live-servers")
    started: list[Server] = []
    try:
        started.append(start_server(tmp, "a"))
        started.append(start_server(tmp, "b"))
        yield started[0], started[1]
    finally:
        for server in started:
            stop_server(server)
        for server in started:
            errors = [line for line in server.log.read_text().splitlines() if '"level":"ERROR"' in line]
            assert not errors, errors[:5]


@pytest.fixture
def server(servers: tuple[Server, Server]) -> Server:
    return servers[0]


@pytest.fixture(autouse=True)
def _shared_redis(request: pytest.FixtureRequest) -> None:
    """This process's writes poke the servers' sockets (the same Redis pub/sub channel)."""
    if "servers" not in request.fixturenames and "server" not in request.fixturenames:
        return
    overrides = request.getfixturevalue("settings")
    overrides.REDIS_URL = REDIS_URL
    overrides.LIVE_KEY_PREFIX = PREFIX


class Socket:
    """A `websockets` client of the stream that keeps what it received, for assertions by type."""

    def __init__(self, url: str, **options: Any) -> None:
        self._stack = contextlib.ExitStack()
        self.connection: ClientConnection = self._stack.enter_context(
            connect(url, open_timeout=10, **options)
        )
        self.received: list[dict[str, Any]] = []

    def send(self, frame: Any) -> None:
        self.connection.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))

    def next(self, timeout: float = 2.0) -> dict[str, Any]:
        message = json.loads(self.connection.recv(timeout=timeout))
        self.received.append(message)
        return dict(message)

    def wait_for(
        self, kind: str, timeout: float = 2.0, where: Callable[[dict[str, Any]], bool] = lambda m: True
    ) -> dict[str, Any]:
        """The next message of this type (others are kept and skipped); TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind} within {timeout}s; got {self.received}")
            message = self.next(left)
            if message["type"] == kind and where(message):
                return message

    def nothing_of(
        self, kind: str, seconds: float, where: Callable[[dict[str, Any]], bool] = lambda m: True
    ) -> bool:
        """True when no message of this type arrives for `seconds`."""
        try:
            self.wait_for(kind, seconds, where)
        except TimeoutError:
            return True
        return False

    def close_code(self, timeout: float = 3.0) -> int | None:
        """Reads until the server closes; its close code."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.next(deadline - time.monotonic())
        except ConnectionClosed:
            pass
        except TimeoutError:
            return None
        return self.connection.close_code

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def open_socket() -> Iterator[Callable[..., Socket]]:
    opened: list[Socket] = []

    def open_(url: str, **options: Any) -> Socket:
        sock = Socket(url, **options)
        opened.append(sock)
        return sock

    yield open_
    for sock in opened:
        sock.close()
