"""Database expressions that give a value exactly as the API writes it in JSON (docs/api/README.md), so the
change feed reads JSON-ready rows instead of building model instances and formatting them in Python.

Profiles of the feed showed most of a page's time in turning timestamptz and uuid columns into Python
objects and then into strings again; the database does both far faster. PostgreSQL and SQLite are the
backends; tests/sync/test_feed_columns.py holds every registered type's columns equal to
its `to_data` on both. Each expression takes a column (a field name): NULL stays NULL.
"""

from __future__ import annotations

from typing import Any

from django.db.models import CharField, Func

_UUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def uuid_text_sql(connection: Any, sql: str) -> str:
    """SQL giving the uuid column `sql` as `str(uuid)`: lowercase 8-4-4-4-12 (SQLite stores 32 hex
    digits)."""
    if connection.vendor == "sqlite":
        return "lower(" + " || '-' || ".join(f"substr({sql}, {a}, {n})" for a, n in _UUID_PARTS) + ")"
    return f"({sql})::text"


def timestamp_text_sql(connection: Any, sql: str) -> str:
    """SQL giving the timestamp column `sql` as RFC 3339 in UTC with six fraction digits and `Z`
    (`2026-11-23T08:15:30.123456Z`), what core.serializers.DateTimeField answers."""
    if connection.vendor == "sqlite":
        # Stored as UTC text, `YYYY-MM-DD HH:MM:SS[.ffffff]` (no fraction when it is zero).
        return (
            f"substr({sql}, 1, 10) || 'T' || substr({sql}, 12, 8) || '.'"
            f" || substr(substr({sql}, 21) || '000000', 1, 6) || 'Z'"
        )
    return f"""to_char(({sql}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def day_text_sql(connection: Any, sql: str) -> str:
    """SQL giving the date column `sql` as `YYYY-MM-DD` (SQLite stores that text; appending nothing keeps
    Python's sqlite3 from parsing the column it sees declared as a date)."""
    if connection.vendor == "sqlite":
        return f"({sql} || '')"
    return f"to_char({sql}, 'YYYY-MM-DD')"


def minute_text_sql(connection: Any, sql: str) -> str:
    """SQL giving the time column `sql` as `HH:MM` (an item's `due_time`: minutes are all the API keeps;
    SQLite stores `HH:MM:SS[.ffffff]` text)."""
    if connection.vendor == "sqlite":
        return f"substr({sql}, 1, 5)"
    return f"to_char({sql}, 'HH24:MI')"


class _Text(Func):
    """A column turned into the API's text by `to_text(connection, column sql)`."""

    output_field = CharField()
    to_text: Any = None

    def __init__(self, column: str) -> None:
        super().__init__(column)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        if params:
            raise ValueError(f"{type(self).__name__} takes a column, not {sql!r}")
        return type(self).to_text(connection, sql), []


class UUIDText(_Text):
    to_text = staticmethod(uuid_text_sql)


class TimestampText(_Text):
    to_text = staticmethod(timestamp_text_sql)


class DayText(_Text):
    to_text = staticmethod(day_text_sql)


class MinuteText(_Text):
    to_text = staticmethod(minute_text_sql)
