"""What a client sends over a raw socket to the production server (gunicorn with config/gunicorn.py):
gunicorn's own refusals are problems, and a chunked body is read, never taken for empty."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LIVE_SERVERS
from tests.ports import free_port

# One gunicorn for the module: its tests stay on one pytest-xdist worker.
pytestmark = LIVE_SERVERS

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a perfectly fine passphrase 42"


class Server:
    def __init__(self, port: int) -> None:
        self.port = port

    def exchange(self, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        """Sends `head` (request line and headers) and `body` as they are; answers status, headers and
        decoded body. Reads while it sends, so an answer the server gives before the body ends (and its
        close) is not lost."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        received: list[bytes] = []

        def read() -> None:
            try:
                while chunk := sock.recv(65536):
                    received.append(chunk)
            except OSError:
                pass

        reader = threading.Thread(target=read)
        reader.start()
        with contextlib.suppress(OSError):  # the server answered and closed before reading all of it
            sock.sendall(head.encode("latin1") + body)
        reader.join(timeout=30)
        sock.close()
        response = http.client.HTTPResponse(_Replay(b"".join(received)))  # type: ignore[arg-type]
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

    def post_json(self, path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        payload = json.dumps(body).encode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{auth}"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        status, _, answer = self.exchange(head, payload)
        assert status in (200, 201), answer
        return dict(json.loads(answer))

    def post_chunked(self, path: str, body: bytes, token: str) -> tuple[int, dict[str, str], bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        return self.exchange(head, chunked(body))


class _Replay:
    """The bytes of an answer, as the socket-like object http.client parses."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.data)


def chunked(body: bytes, size: int = 64 * 1024) -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "gunicorn-hostile-test",
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(directory / "metrics"),
        "RATE_LIMIT_ENABLE": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    (directory / "metrics").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=180,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield Server(port)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    email = f"chunked-{uuid.uuid4().hex[:8]}@example.com"
    return str(server.post_json("/api/v1/auth/register", {"email": email, "password": PASSWORD})["access"])


def _assert_problem(status: int, headers: dict[str, str], body: bytes, expected: int, code: str) -> None:
    assert status == expected, body
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert (problem["status"], problem["code"]) == (expected, code)
    assert problem["request_id"] == headers["x-request-id"]


def test_a_request_line_over_the_limit_is_a_414_problem(server: Server) -> None:
    head = f"GET /api/v1/lists?q={'a' * 5000} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    _assert_problem(*server.exchange(head), 414, "uri_too_long")


def test_a_header_over_the_limit_is_a_431_problem(server: Server) -> None:
    head = f"GET /api/v1/lists HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {'a' * 9000}\r\n\r\n"
    _assert_problem(*server.exchange(head), 431, "header_too_large")


def test_a_malformed_request_is_a_400_problem(server: Server) -> None:
    _assert_problem(*server.exchange("GET /api/v1/lists HTTP/1.1\r\nBad Header\r\n\r\n"), 400, "parse_error")


def test_a_chunked_push_is_applied(server: Server, token: str) -> None:
    list_id = str(uuid.uuid4())
    operation = {"op_id": str(uuid.uuid4()), "type": "list", "action": "create", "id": list_id}
    push = json.dumps({"operations": [{**operation, "data": {"name": "sent in chunks"}}]}).encode()

    status, _, body = server.post_chunked("/api/v1/sync", push, token)

    assert status == 200, body
    assert [result["status"] for result in json.loads(body)["results"]] == ["applied"]
    head = f"GET /api/v1/lists/{list_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
    status, _, body = server.exchange(head + "Connection: close\r\n\r\n")
    assert (status, json.loads(body)["name"]) == (200, "sent in chunks")


def test_a_malformed_chunk_is_a_400_problem(server: Server, token: str) -> None:
    head = (
        "POST /api/v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    _assert_problem(*server.exchange(head, b"zz\r\n{}\r\n0\r\n\r\n"), 400, "parse_error")


def test_a_chunked_body_over_the_limit_is_413(server: Server, token: str) -> None:
    huge = b'{"operations": [], "padding": "' + b"a" * 10_000_000 + b'"}'
    _assert_problem(*server.post_chunked("/api/v1/sync", huge, token), 413, "payload_too_large")
