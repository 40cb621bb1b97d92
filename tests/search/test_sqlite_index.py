"""The SQLite index's upkeep (lists/search_index.py): its triggers exist after every migration, and a
migration that rebuilt a table (which drops the table's triggers) is repaired by the next `migrate`."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from lists.apps import _repair_search_index
from lists.search_index import SQLITE_TRIGGERS
from tests.factories import ItemFactory, ListFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 index is SQLite's"),
]


def triggers() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in cursor.fetchall()}


def test_every_trigger_exists_after_the_migrations() -> None:
    assert set(SQLITE_TRIGGERS) <= triggers()


def test_migrate_puts_lost_triggers_back_and_indexes_what_they_missed(
    user: User, user_client: APIClient
) -> None:
    home = ListFactory.create(user=user)
    ItemFactory.create(list=home, title="Indexed before")
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    ItemFactory.create(list=home, title="Written without triggers")
    assert [r["title"] for r in user_client.get("/api/v1/search?q=written").json()["results"]] == []

    _repair_search_index(using="default")

    assert set(SQLITE_TRIGGERS) <= triggers()
    found = user_client.get("/api/v1/search?q=indexed written before").json()["results"]
    assert found == []
    assert [r["title"] for r in user_client.get("/api/v1/search?q=written").json()["results"]] == [
        "Written without triggers"
    ]
    assert [r["title"] for r in user_client.get("/api/v1/search?q=indexed").json()["results"]] == [
        "Indexed before"
    ]
