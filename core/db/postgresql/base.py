"""The PostgreSQL backend: django-prometheus's (query metrics) with psycopg's C loader for `timestamptz`,
and the pool's check on checkout of core/db/pool.py.

Django reads every `timestamptz` through its own loader, a Python subclass of psycopg's that re-stamps the
time zone; being Python, it parses about seven times slower than psycopg's C loader (bench: 16 ms against
2.2 ms per 1,000 rows of three timestamps), and timestamps are in every row this API answers. Django sets
each connection's `TimeZone` to its own (UTC here), and psycopg's C loader answers in the connection's
time zone with `datetime.timezone.utc` for UTC, so with UTC the values are identical, tzinfo included.
Any other database time zone, or psycopg without its C extension, keeps Django's loader.

django-prometheus's backend builds a new cursor class (counting statements in the metrics) every time the
connection parameters are asked for, which Django does on every request with the pool; ours builds it once.
"""

from __future__ import annotations

import datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db.backends.postgresql import base as postgresql
from django_prometheus.db.backends.postgresql import base
from django_prometheus.db.common import ExportingCursorWrapper
from psycopg import adapt
from psycopg.types.datetime import TimestamptzLoader
from psycopg_pool import ConnectionPool

from core.db.pool import check_after_idle

try:  # psycopg's C extension (psycopg[binary] or [c]); a private module, so its absence is not an error
    from psycopg._cmodule import _psycopg
except ImportError:  # pragma: no cover - the pinned psycopg-binary has it
    _psycopg = None  # type: ignore[assignment]


class _CTimestamptzLoader:
    """Stands in the adapters map where Django's loader class would: it carries the `timezone` Django's
    `create_cursor` compares, and builds psycopg's C loader (a final type, so it cannot be subclassed)."""

    format = TimestamptzLoader.format
    timezone = datetime.UTC

    def __new__(cls, oid: int, context: Any = None) -> Any:
        assert _psycopg is not None
        return _psycopg.TimestamptzLoader(oid, context)


@lru_cache
def _exporting_cursor(cursor_class: type, alias: str, vendor: str) -> type:
    """`cursor_class` counting its statements in django-prometheus's metrics (its own wrapper class)."""
    wrapped: type = ExportingCursorWrapper(cursor_class, alias, vendor)
    return wrapped


@lru_cache
def _with_c_timestamptz(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    adapters = adapt.AdaptersMap(template)
    adapters.register_loader("timestamptz", _CTimestamptzLoader)  # type: ignore[arg-type]
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> Any:
        """Django's pool, with the check on checkout of core/db/pool.py instead of psycopg_pool's own
        (Django passes that one, or none, and takes no other)."""
        pool = super().pool
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_after_idle(settings.DATABASE_POOL_CHECK_AFTER_SECONDS)
        return pool

    def get_connection_params(self) -> dict[str, Any]:
        # Django's, then django-prometheus's cursor wrapper as its own backend adds it, but made once:
        # its backend builds a new class on every call, and with the pool Django calls this on every
        # request (to throw the result away: pooled connections were made with the first call's).
        params: dict[str, Any] = postgresql.DatabaseWrapper.get_connection_params(self)
        params["cursor_factory"] = _exporting_cursor(params["cursor_factory"], self.alias, self.vendor)
        if _psycopg is not None and settings.USE_TZ and self.timezone is datetime.UTC:
            params["context"] = _with_c_timestamptz(params["context"])
        return params
