"""A browser-less passkey client (tests/accounts/passkey_authenticator.py) against two live gunicorn
servers, separate processes on one database, with the production settings: a ceremony begun on one
finishes on the other, and one answer sent to both at once logs in exactly once.

The servers run on their own database (PostgreSQL when the tests run on it, else a SQLite file).
"""

from __future__ import annotations

import http.client
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

from tests.accounts.passkey_authenticator import SoftAuthenticator
from tests.conftest import LIVE_SERVERS
from tests.ports import free_port
from tests.scratch_database import scratch_database

pytestmark = LIVE_SERVERS

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"
RP_ID = "localhost"
ORIGIN = "https://localhost:3000"


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """Two gunicorn processes (one worker each) on one database: their ports."""
    directory = tmp_path_factory.mktemp("passkeys-live")
    database, drop = scratch_database(directory, "passkeys_live")
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "passkeys-live-test-only",
        "DATABASE_URL": database,
        "DATABASE_POOL_MAX_SIZE": "4",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
        "PASSKEYS_RP_ID": RP_ID,
        "PASSKEYS_ORIGINS": ORIGIN,
        "RATE_LIMIT_ENABLE": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    processes: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
        ports = []
        for n in range(2):
            port = free_port()
            metrics = directory / f"metrics-{n}"
            metrics.mkdir()
            log = (directory / f"server-{n}.log").open("wb")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
                    cwd=ROOT,
                    env={
                        **env,
                        "GUNICORN_BIND": f"127.0.0.1:{port}",
                        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
                    },
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            ports.append(port)
        for port, process in zip(ports, processes, strict=True):
            _wait_for(port, process)
        yield ports[0], ports[1]
        for n in range(2):
            text = (directory / f"server-{n}.log").read_text()
            errors = [line for line in text.splitlines() if '"level":"ERROR"' in line]
            assert not errors, errors[:5]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        for log in logs:
            log.close()
        drop()


def call(port: int, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, API + path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def test_a_passkey_registered_and_used_across_two_server_processes(servers: tuple[int, int]) -> None:
    first, second = servers
    email = f"passkey-{uuid.uuid4().hex[:10]}@example.com"
    status, account = call(
        first, "POST", "/auth/register", {"email": email, "password": "a long passphrase 42"}
    )
    assert status == 201, account
    token = account["access"]
    authenticator = SoftAuthenticator()

    # Registration begun on one process, finished on the other.
    status, begun = call(first, "POST", "/auth/passkeys/register/begin", token=token)
    assert status == 200, begun
    credential = authenticator.create(begun["options"], origin=ORIGIN)
    body = {"ceremony": begun["ceremony"], "credential": credential, "name": "Soft key"}
    status, passkey = call(second, "POST", "/auth/passkeys/register/finish", body, token=token)
    assert status == 201, passkey
    assert call(first, "POST", "/auth/passkeys/register/finish", body, token=token)[0] == 400

    # A discoverable login begun on the second, finished on the first; the tokens work on both.
    status, begun = call(second, "POST", "/auth/passkeys/login/begin", {})
    assert status == 200, begun
    answer = {"ceremony": begun["ceremony"], "credential": authenticator.get(begun["options"], origin=ORIGIN)}
    status, tokens = call(first, "POST", "/auth/passkeys/login/finish", answer)
    assert status == 200, tokens
    status, listed = call(second, "GET", "/user/passkeys", token=tokens["access"])
    assert status == 200
    assert [entry["id"] for entry in listed["results"]] == [passkey["id"]]
    assert listed["results"][0]["last_used_at"] is not None

    # The same answer replayed to either process: refused.
    assert call(first, "POST", "/auth/passkeys/login/finish", answer)[0] == 401
    assert call(second, "POST", "/auth/passkeys/login/finish", answer)[0] == 401


def test_one_answer_sent_to_both_processes_at_once_logs_in_exactly_once(servers: tuple[int, int]) -> None:
    first, second = servers
    email = f"passkey-{uuid.uuid4().hex[:10]}@example.com"
    token = call(first, "POST", "/auth/register", {"email": email, "password": "a long passphrase 42"})[1][
        "access"
    ]
    # No signature counter (like most synced passkeys): only the ceremony's single use stops the second.
    authenticator = SoftAuthenticator(counter_step=0)
    begun = call(first, "POST", "/auth/passkeys/register/begin", token=token)[1]
    credential = authenticator.create(begun["options"], origin=ORIGIN)
    body = {"ceremony": begun["ceremony"], "credential": credential}
    assert call(first, "POST", "/auth/passkeys/register/finish", body, token=token)[0] == 201

    for _round in range(5):
        begun = call(first, "POST", "/auth/passkeys/login/begin", {"email": email})[1]
        answer = {
            "ceremony": begun["ceremony"],
            "credential": authenticator.get(begun["options"], origin=ORIGIN),
        }
        barrier = threading.Barrier(4)
        statuses: list[int] = []

        def finish(
            port: int, answer: dict[str, Any], barrier: threading.Barrier, statuses: list[int]
        ) -> None:
            barrier.wait()
            statuses.append(call(port, "POST", "/auth/passkeys/login/finish", answer)[0])

        threads = [
            threading.Thread(target=finish, args=(port, answer, barrier, statuses))
            for port in (first, second, first, second)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(statuses) == [200, 401, 401, 401]
