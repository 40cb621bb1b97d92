"""The embedded default end to end: a reminder set through the HTTP API of a live server is fired by a real
`manage.py worker` process (what `make run` starts beside the server) and shows up in the user's
notifications within a minute. On a database of its own (PostgreSQL when the tests run on it, else a SQLite
file), as the worker's own process tests do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps

from tests.conftest import LIVE_SERVERS
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    LIVE_SERVERS,
    pytest.mark.skipif(not apps.is_installed("jobs"), reason="needs the worker (the jobs app)"),
]


def _call(port: int, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/{path}", data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own loopback server
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class _Processes:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[subprocess.Popen[bytes]] = []
        url = os.environ.get("DATABASE_URL", "")
        self.admin = ""
        if url.startswith("postgres"):
            import psycopg

            base, _, _ = url.rpartition("/")
            self.name = f"daymark_reminders_e2e_{os.getpid()}"
            self.admin = f"{base}/postgres"
            with psycopg.connect(self.admin, autocommit=True) as db:
                db.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
                db.execute(f"CREATE DATABASE {self.name}")
            database = f"{base}/{self.name}"
        else:
            database = f"sqlite:///{directory / 'e2e.sqlite3'}"
        self.env = {
            **os.environ,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "reminders-e2e-only",
            "DATABASE_URL": database,
            "JOBS_TICK_SECONDS": "0.2",
            "TASKS_POLL_SECONDS": "0.2",
            "LOG_FORMAT": "console",
            "PROMETHEUS_MULTIPROC_DIR": str(directory / "metrics"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
        self.env.pop("REDIS_URL", None)
        (directory / "metrics").mkdir()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True
        )

    def start(self, name: str, *command: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, *command], cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=log
        )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.admin:
            import psycopg

            with psycopg.connect(self.admin, autocommit=True) as db:
                db.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[_Processes]:
    started = _Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def test_a_reminder_set_through_the_api_is_fired_by_the_worker(processes: _Processes) -> None:
    port = free_port()
    processes.start(
        "server", "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi",
        GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1", GUNICORN_THREADS="2",
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not _healthy(port):
        assert time.monotonic() < deadline, processes.log("server")
        time.sleep(0.2)
    status, session = _call(
        port, "POST", "auth/register", {"email": "e2e@example.com", "password": "a-long-e2e-password-1"}
    )
    assert status == 201, session
    token = session["access"]
    status, made = _call(port, "POST", "lists", {"name": "Errands"}, token)
    assert status == 201, made
    status, item = _call(port, "POST", "items", {"list": made["id"], "title": "Post the letter"}, token)
    assert status == 201, item
    at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    status, reminder = _call(port, "POST", "reminders", {"item": item["id"], "remind_at": at}, token)
    assert status == 201, reminder

    processes.start("worker", "manage.py", "worker")
    deadline = time.monotonic() + 60  # fired within a minute of its time
    while True:
        status, page = _call(port, "GET", "notifications?unread=true", token=token)
        assert status == 200, page
        if page["results"]:
            break
        assert time.monotonic() < deadline, processes.log("worker")
        time.sleep(0.5)
    [notification] = page["results"]
    assert notification["kind"] == "reminder"
    assert notification["data"]["reminder"] == reminder["id"]
    assert notification["data"]["title"] == "Post the letter"
    status, fired = _call(port, "GET", f"reminders/{reminder['id']}", token=token)
    assert fired["fired_at"] is not None
    assert fired["version"] == 2


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


SEED = """
from datetime import timedelta
from django.utils import timezone
from tests.factories import ItemFactory, ListFactory, ReminderFactory, UserFactory
for n in range({users}):
    user = UserFactory.create()
    item = ItemFactory.create(list=ListFactory.create(user=user))
    for m in range({per_user}):
        ReminderFactory.create(item=item, user=user, remind_at=timezone.now() - timedelta(seconds=m))
"""


@pytest.mark.postgres
def test_two_worker_processes_fire_each_due_reminder_exactly_once(processes: _Processes) -> None:
    import psycopg

    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED.format(users=30, per_user=8)],
        cwd=ROOT, env=processes.env, check=True, timeout=600,
    )  # fmt: skip
    url = processes.env["DATABASE_URL"]

    def count(sql: str) -> int:
        with psycopg.connect(url, autocommit=True) as db:
            row = db.execute(sql).fetchone()
            return int(row[0]) if row else 0

    assert count("SELECT count(*) FROM reminders_reminder WHERE fired_at IS NULL") == 240
    # Small batches, so the two workers interleave over many of them.
    for name in ("first", "second"):
        processes.start(name, "manage.py", "worker", REMINDERS_BATCH_SPACES="2")
    deadline = time.monotonic() + 90
    while count("SELECT count(*) FROM reminders_reminder WHERE fired_at IS NULL"):
        assert time.monotonic() < deadline, processes.log("first") + processes.log("second")
        time.sleep(0.5)
    assert count("SELECT count(*) FROM reminders_notification") == 240
    assert count("SELECT count(DISTINCT data->>'reminder') FROM reminders_notification") == 240
    assert count("SELECT count(*) FROM reminders_reminder WHERE version <> 2") == 0
