"""The pool's check on checkout (core/db/pool.py): a connection that sat idle is checked, and replaced when
PostgreSQL dropped it meanwhile; one reused within the window goes out without the round trip."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from core.db.pool import check_after_idle

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _conninfo() -> str:
    params = connection.get_connection_params()
    params.pop("context", None)
    params.pop("cursor_factory", None)
    params.pop("prepare_threshold", None)
    return psycopg.conninfo.make_conninfo("", **{k: v for k, v in params.items() if isinstance(v, str | int)})


def _kill(pid: int) -> None:
    with psycopg.connect(_conninfo(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.1)


def _pool(seconds: float) -> ConnectionPool:
    return ConnectionPool(_conninfo(), min_size=1, max_size=1, check=check_after_idle(seconds), open=True)


def test_a_connection_that_died_while_idle_is_replaced_on_checkout() -> None:
    with _pool(0.2) as pool:
        with pool.connection() as conn:
            pid = conn.info.backend_pid
        _kill(pid)
        time.sleep(0.3)  # idle longer than the window: checked, found dead, replaced

        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            assert conn.info.backend_pid != pid


def test_a_connection_reused_within_the_window_is_not_sent_a_query() -> None:
    with _pool(60) as pool:
        with pool.connection() as conn:
            pid = conn.info.backend_pid
        _kill(pid)

        # The trade-off, stated: a connection dropped within the window goes out unchecked (its request
        # fails as it would have mid-query); nothing was sent on checkout.
        with pool.connection() as conn:
            assert conn.info.backend_pid == pid
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")
        # Returned broken, the pool dropped it: the next checkout is a new, working connection.
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("seconds", [0, 60])
def test_a_broken_connection_is_always_checked(seconds: float) -> None:
    check = check_after_idle(seconds)
    conn: Any = psycopg.connect(_conninfo(), autocommit=True)
    check(conn)
    conn.close()
    with pytest.raises(psycopg.OperationalError):
        check(conn)


def test_the_servers_pool_takes_this_check() -> None:
    pool: Any = getattr(connection, "pool", None)
    if pool is None:
        pytest.skip("DATABASE_POOL is off")
    assert pool._check is not ConnectionPool.check_connection
    assert pool._check.__qualname__ == check_after_idle(1).__qualname__  # psycopg_pool keeps it there
