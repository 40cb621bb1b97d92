"""The PostgreSQL backend (core/db/postgresql) reads timestamps with psycopg's C loader, and reads them
exactly as Django's own loader does: the same instant, in `datetime.UTC`; its cursors count in the
metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from django.db import connection
from prometheus_client import REGISTRY
from psycopg.pq import Format

from core.db.postgresql.base import _CTimestamptzLoader
from lists.models import Item
from tests.factories import ItemFactory, ListFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TIMESTAMPTZ_OID = 1184


def test_connections_read_timestamptz_with_the_c_loader() -> None:
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)

    assert loader is _CTimestamptzLoader
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        (value,) = cursor.fetchone()
    assert value.tzinfo is UTC  # what Django's loader stamps, so nothing downstream can tell


@pytest.mark.parametrize(
    "written",
    [
        datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=14))),
        datetime(2026, 11, 1, 1, 30, tzinfo=timezone(timedelta(hours=-11))),
    ],
)
def test_a_timestamp_reads_back_as_the_same_instant_in_utc(user: Any, written: datetime) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user), status="done", completed_at=written)

    read = Item.objects.values_list("completed_at", flat=True).get(pk=item.pk)

    assert read == written
    assert read.tzinfo is UTC
    assert read.isoformat() == written.astimezone(UTC).isoformat()


def _executed() -> float:
    labels = {"alias": connection.alias, "vendor": connection.vendor}
    return REGISTRY.get_sample_value("django_db_execute_total", labels) or 0.0


def test_the_cursor_class_is_made_once_and_still_counts_statements() -> None:
    """With the pool Django asks for the connection parameters on every request; django-prometheus's
    backend made a new cursor class each time. Ours is made once, and still counts in the metrics."""
    factory = connection.get_connection_params()["cursor_factory"]
    assert connection.get_connection_params()["cursor_factory"] is factory
    before = _executed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert _executed() == before + 1
