"""The sync feed's first statement is prepared once per connection on PostgreSQL (core/db/prepared.py):
one statement for every user and cursor, planned generically after PostgreSQL's first five custom plans,
answering as the unprepared one does, and a plan that reads only the user's spaces when there are many;
prepared afresh after a migration changed what it returns. `DATABASE_PREPARED_STATEMENTS=false` runs it
unprepared."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import NotSupportedError, connection, transaction
from django.test import override_settings

from sync.feed import changes_since, check_cursor, parse_cursor
from sync.models import Space
from tests.conftest import client_for
from tests.factories import ItemFactory, MemberFactory, UserFactory, WorkspaceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _snapshot_statements() -> list[tuple[str, list[str], int]]:
    """This connection's prepared feed snapshots: name, parameter types, executions so far."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, parameter_types::text[], generic_plans + custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE 'WITH pos(sid, p)%%'"
        )
        return [(name, types, runs) for name, types, runs in cursor.fetchall()]


def _runs() -> int:
    return sum(runs for _, _, runs in _snapshot_statements())


def _full_sync(client: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/sync?limit=2").json()
    changes = answer["changes"]
    while answer["has_more"]:
        answer = client.get(f"/api/v1/sync?limit=2&cursor={answer['cursor']}").json()
        changes += answer["changes"]
    return changes


def test_one_statement_for_every_user_and_cursor_prepared_once() -> None:
    alone = UserFactory.create()
    ItemFactory.create(list__user=alone)
    member = UserFactory.create()
    for _ in range(3):  # cursors of one space and of four
        MemberFactory.create(user=member, workspace=WorkspaceFactory.create())
    before = _runs()
    for user in (alone, member):
        _full_sync(client_for(user))
    statements = _snapshot_statements()
    # One statement with the positions as arrays: the same text and types whatever the cursor holds.
    assert [types for _, types, _ in statements] == [["bigint[]", "bigint[]", "uuid", "uuid"]]
    assert _runs() - before >= 8  # every page of both syncs ran the prepared statement


def test_the_same_answers_prepared_or_not() -> None:
    user = UserFactory.create()
    for _ in range(3):
        ItemFactory.create(list__user=user)
    MemberFactory.create(user=user, workspace=WorkspaceFactory.create())
    client = client_for(user)
    prepared = _full_sync(client)
    runs = _runs()
    with override_settings(DATABASE_PREPARED_STATEMENTS=False):
        unprepared = _full_sync(client)
        assert _runs() == runs  # nothing ran through the prepared statement
    assert unprepared == prepared
    assert len(prepared) >= 5


@pytest.fixture
def many_spaces() -> None:
    Space.objects.bulk_create([Space(workspace_id=uuid.uuid4()) for _ in range(20_000)], batch_size=5_000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Space._meta.db_table}")


def test_the_generic_plan_reads_no_space_but_the_users(many_spaces: None) -> None:
    """The plan PostgreSQL keeps after five runs knows no user and no cursor: it must still find the
    user's spaces through the indexes, never by reading all of them (docs/performance.md, "Scaling")."""
    user = UserFactory.create()
    client = client_for(user)
    cursor = client.get("/api/v1/sync").json()["cursor"]
    for _ in range(6):
        assert client.get(f"/api/v1/sync?cursor={cursor}").status_code == 200
    [(name, _, _)] = _snapshot_statements()
    with connection.cursor() as db:
        db.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        db.execute(f"EXPLAIN EXECUTE {name}('{{0,1}}', '{{0,5}}', %s, %s)", [user.pk, user.pk])
        plan = "\n".join(row[0] for row in db.fetchall())
    assert "$1" in plan or "$3" in plan  # the generic plan, its parameters unknown
    assert f"Seq Scan on {Space._meta.db_table}" not in plan


def test_other_statements_are_not_tracked_for_preparing() -> None:
    """psycopg counts the statements of a connection whose threshold is set, keeping up to a hundred texts
    (bulk writes among them): the threshold is set only while the prepared statement runs."""
    client = client_for(UserFactory.create())
    assert client.get("/api/v1/sync").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s", ["a large text " * 1000])
    database = connection.connection
    assert database.prepare_threshold is None
    assert not database._prepared._counts  # psycopg's own bookkeeping: nothing counted
    assert _snapshot_statements()


def _retype(column_type: str) -> None:
    """A migration changing the type of a column the statement returns (the space's prune watermark)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred checks pending: ALTER refuses them
        cursor.execute(f"ALTER TABLE {Space._meta.db_table} ALTER COLUMN pruned_through TYPE {column_type}")


def test_a_statement_a_migration_outdated_fails_once_in_a_transaction_then_prepares_afresh() -> None:
    user = UserFactory.create()
    cursor = parse_cursor(None)
    for _ in range(2):
        changes_since(user, cursor, 10)
    _retype("integer")  # in the test's transaction: undone with it
    stale = pytest.raises(NotSupportedError, match="cached plan must not change result type")
    with stale, transaction.atomic():
        changes_since(user, cursor, 10)
    assert changes_since(user, cursor, 10)["changes"]
    [(_, _, runs)] = _snapshot_statements()
    assert runs == 1  # prepared again, with the new type


@pytest.mark.django_db(transaction=True)
def test_a_statement_a_migration_outdated_runs_again_at_once_outside_a_transaction() -> None:
    """POST sync checks the cursor in autocommit: nothing aborted, so the statement runs again (unprepared)
    in the same request, and the next one prepares it afresh."""
    user = UserFactory.create()
    cursor = parse_cursor(None)
    for _ in range(2):
        check_cursor(user, cursor)
    _retype("integer")
    try:
        check_cursor(user, cursor)
        assert _snapshot_statements() == []  # forgotten, and deallocated on the server
        check_cursor(user, cursor)
        assert [runs for _, _, runs in _snapshot_statements()] == [1]
    finally:
        _retype("bigint")
