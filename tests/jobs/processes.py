"""Real worker processes on a database of their own (a fresh PostgreSQL database when the tests run on
PostgreSQL, else a SQLite file), and plain SQL to look at it from the test."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]


class WorkerDatabase:
    def __init__(self, directory: Path) -> None:
        url = os.environ.get("DATABASE_URL", "")
        self.postgres = url.startswith("postgres")
        if self.postgres:
            import psycopg

            parts = urlsplit(url)
            self.name = f"daymark_jobs_e2e_{os.getpid()}"
            self.admin = parts._replace(path="/postgres").geturl()
            with psycopg.connect(self.admin, autocommit=True) as db:
                db.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
                db.execute(f"CREATE DATABASE {self.name}")
            self.url = parts._replace(path=f"/{self.name}").geturl()
        else:
            self.path = directory / "worker.sqlite3"
            self.url = f"sqlite:///{self.path}"
        self.directory = directory
        self.env = {
            **os.environ,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "worker-test-only",
            "DATABASE_URL": self.url,
            "DATABASE_POOL_MAX_SIZE": "6",
            "JOBS_TICK_SECONDS": "0.2",
            "TASKS_POLL_SECONDS": "0.2",
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "console",
        }
        self.env.pop("REDIS_URL", None)
        self.manage("migrate", "--noinput", "-v0")

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=300,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.postgres:
            import psycopg

            with psycopg.connect(self.url, autocommit=True) as db:
                cursor = db.execute(sql.replace("?", "%s"), params)
                return list(cursor.fetchall()) if cursor.description else []
        # Datetimes as Django writes them to SQLite (UTC, no offset), so equality with its values holds.
        stored = [
            p.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(p, datetime) else p
            for p in params
        ]
        with sqlite3.connect(self.path, timeout=20) as db:
            return list(db.execute(sql, stored).fetchall())

    def drop(self) -> None:
        if self.postgres:
            import psycopg

            with psycopg.connect(self.admin, autocommit=True) as db:
                db.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    @contextmanager
    def worker(self, *command: str, name: str = "worker", **env: str) -> Iterator[subprocess.Popen[bytes]]:
        log = (self.directory / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, *command], cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=log
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            log.close()

    def log(self, name: str = "worker") -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")


def wait_for(check: Callable[[], bool], *, timeout: float, what: str, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; worker log:\n{log()[-4000:]}")
        time.sleep(0.2)
