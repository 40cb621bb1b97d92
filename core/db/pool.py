"""The connection pool's check on checkout: only for connections that may have died unnoticed.

psycopg_pool's own check (`ConnectionPool.check_connection`, what Django passes with CONN_HEALTH_CHECKS)
sends an empty query on every checkout: a round trip to PostgreSQL before every request's first query,
and about a fifth of the items page's CPU (docs/performance.md, round four). A connection dies unnoticed
while it sits idle (a PostgreSQL restart, a proxy that drops idle connections); one that was checked out
less than DATABASE_POOL_CHECK_AFTER_SECONDS (1 s) ago and came back healthy (psycopg_pool discards a
returned connection that is broken or closed) has had no time to: it goes out unchecked. Any connection
that sat for longer, or that this process has not checked out before, is checked as before, and the pool
replaces it if it fails.

Django builds the pool with psycopg_pool's check (CONN_HEALTH_CHECKS) and takes no other; the backend
(core/db/postgresql) puts this one in its place before the pool opens.
"""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import Any

from psycopg_pool import ConnectionPool


def check_after_idle(seconds: float) -> Callable[[Any], None]:
    """A pool's `check`: psycopg_pool's when the connection was last checked out `seconds` ago or more,
    or never, or is already known broken; nothing otherwise. `seconds` 0 checks every checkout."""

    def check(conn: Any) -> None:
        now = monotonic()
        last: float | None = getattr(conn, "_daymark_checked_out", None)
        conn._daymark_checked_out = now
        if last is None or now - last >= seconds or conn.broken or conn.closed:
            ConnectionPool.check_connection(conn)

    return check
