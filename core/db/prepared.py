"""Server-side prepared statements for the few statements whose planning costs more than running them.

Django binds every query's parameters on the client and psycopg never prepares (Django turns psycopg's
automatic preparation off so that connection poolers keep working). For most statements that is right:
planning is cheap beside the work, and a prepared statement's generic plan can be worse than one planned
for the values at hand (docs/performance.md, "Tried and left out"). The sync feed's first statement is the
exception: eleven correlated `min()` lookups, one per table, which PostgreSQL plans in 1 to 2 ms and runs
in 0.2 to 0.5, on every page of every sync. Its text is the same for every user and cursor (the
positions travel as two arrays), so prepared once per connection it is planned once per connection.

`prepared_cursor` is a Django cursor (the debug wrapper, query counting, execute wrappers, error wrapping
and the backend's metrics all stay) whose statements are bound on the server and prepared on first use.
psycopg keeps the connection's prepared statements by text and parameter types, so parameters must keep
their types (pass integers as `Int8`). psycopg deallocates them all when a transaction on the connection
rolls back, so after a failed write the next use prepares again. `DATABASE_PREPARED_STATEMENTS=false`
binds on the server without preparing, for a proxy that cannot hold prepared statements
(docs/deployment.md).

A prepared statement can go stale under a running server: a migration that changes the type of a column
it returns ("cached plan must not change result type"), or a proxy that lost or mixed up the statements
("does not exist", "already exists"). Then psycopg is made to forget the connection's statements (and
deallocate them on the server), and the statement runs again unprepared when nothing was aborted
(autocommit); inside a transaction the error stands, the transaction rolls back, and the next request
prepares afresh.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]  # not in the stubs
    TIMESTAMPTZ_OID,
    ServerBindingCursor,
)
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from psycopg.errors import DuplicatePreparedStatement, FeatureNotSupported, InvalidSqlStatementName
from psycopg.pq import Format, TransactionStatus

from core.db.postgresql.base import exporting_cursor

# psycopg prepares a statement run this many times on a connection, or asked to (`prepare=True`).
_EXPLICIT_ONLY = 2**31
# What the server answers for a prepared statement it no longer runs as prepared (the module doc).
_STALE = (FeatureNotSupported, InvalidSqlStatementName, DuplicatePreparedStatement)


class _Prepared(ServerBindingCursor):
    def execute(self, query: Any, params: Any = None, *, prepare: Any = None, **kwargs: Any) -> Any:
        database = self.connection
        threshold = database.prepare_threshold
        # Django turns psycopg's preparation off with None, which refuses an explicit `prepare=True` too; a
        # threshold no statement reaches lets it through. Only while this statement runs: with a threshold
        # set, psycopg would keep count of every other statement's text (up to a hundred per connection,
        # some of them large bulk writes).
        database.prepare_threshold = _EXPLICIT_ONLY
        try:
            return super().execute(query, params, prepare=settings.DATABASE_PREPARED_STATEMENTS, **kwargs)
        except _STALE:
            database._prepared.clear()  # forgotten here; DEALLOCATE ALL goes before the next statement
            if database.info.transaction_status != TransactionStatus.IDLE:
                raise
            return super().execute(query, params, prepare=False, **kwargs)
        finally:
            database.prepare_threshold = threshold


def prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor of `connection` (PostgreSQL) that prepares what it runs; use it as `connection.cursor()`."""
    connection.ensure_connection()
    database = connection.connection
    with connection.wrap_database_errors:
        # Counted in the metrics as the connection's own cursors are (core.db.postgresql).
        raw = exporting_cursor(_Prepared, connection.alias, connection.vendor)(database)
        # As Django's `create_cursor`: its own time zone when the connection's loader disagrees.
        loader = database.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        if connection.timezone != getattr(loader, "timezone", None):
            register_tzloader(connection.timezone, raw)
        return connection._prepare_cursor(raw)  # type: ignore[attr-defined]
