"""A database of its own for tests that start server processes beside pytest's."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit


def scratch_database(directory: Path, name: str) -> tuple[str, Callable[[], None]]:
    """A database URL for the servers, and how to drop it afterwards: a PostgreSQL database named after
    `name` and this process when the tests run on PostgreSQL, else a SQLite file in `directory`."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{directory / f'{name}.sqlite3'}", lambda: None
    import psycopg

    parts = urlsplit(url)
    database = f"daymark_{name}_{os.getpid()}"
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {database}")
        db.execute(f"CREATE DATABASE {database}")

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")

    return parts._replace(path=f"/{database}").geturl(), drop
