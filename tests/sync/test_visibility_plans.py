"""The spaces a user sees are found through indexes, whatever the number of spaces: an `user = X OR id IN
(...)` made PostgreSQL scan every space (300 ms for a light user's full sync at 100,000 users,
docs/performance.md "Scaling"). PostgreSQL plans a small table as a scan whatever the query, so the table
here has 20,000 spaces and fresh statistics."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sync.models import Space
from sync.spaces import visible_heads
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def many_spaces() -> None:
    Space.objects.bulk_create([Space(workspace_id=uuid.uuid4()) for _ in range(20_000)], batch_size=5_000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Space._meta.db_table}")


def _plan(sql: str, params: Any = None) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_visible_heads_reads_no_space_but_the_users(many_spaces: None) -> None:
    user = UserFactory.create()
    sql, params = visible_heads(user).query.sql_with_params()
    assert f"Seq Scan on {Space._meta.db_table}" not in _plan(sql, params)


@pytest.mark.parametrize("cursor", [False, True])
def test_the_feeds_state_reads_no_space_but_the_users(many_spaces: None, cursor: bool) -> None:
    user = UserFactory.create()
    client = client_for(user)
    query = ""
    if cursor:
        query = f"?cursor={client.get('/api/v1/sync').json()['cursor']}"
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/v1/sync{query}").status_code == 200
    [state] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("WITH pos")]
    assert f"Seq Scan on {Space._meta.db_table}" not in _plan(state)
