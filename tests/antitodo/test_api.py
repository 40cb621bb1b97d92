from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from antitodo.models import AntiTodoEntry
from core.versioning import BaseVersion
from lists.services import item_delete
from sync import registry
from sync.models import ChangeRecord
from tests.conftest import client_for
from tests.factories import AntiTodoEntryFactory, ItemFactory, ListFactory

URL = "/api/v1/anti-todo"


def test_it_creates_an_entry_dated_today_in_the_users_time_zone(db: Any, django_user_model: Any) -> None:
    from tests.factories import UserFactory

    user = UserFactory.create(timezone="Pacific/Auckland")
    with time_machine.travel("2026-05-04T13:30:00Z", tick=False):  # 01:30 on the 5th in Auckland
        response = client_for(user).post(URL, {"title": "Called mum"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["date"] == "2026-05-05"
    assert body["note"] == ""
    assert body["item"] is None
    assert body["version"] == 1
    assert response["Location"].endswith(f"{URL}/{body['id']}")


def test_a_retried_create_is_harmless_and_other_content_is_409(user_client: APIClient) -> None:
    entry_id = str(uuid.uuid4())
    body = {"id": entry_id, "title": "Fixed the sink", "date": "2026-05-01"}
    assert user_client.post(URL, body, format="json").status_code == 201
    assert user_client.post(URL, body, format="json").status_code == 200
    response = user_client.post(URL, {**body, "title": "Other"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "id_conflict"


def test_another_users_id_is_an_id_conflict(user_client: APIClient, other_user: User) -> None:
    theirs = AntiTodoEntryFactory.create(user=other_user, date=date(2026, 5, 1))
    response = user_client.post(
        URL, {"id": str(theirs.pk), "title": "x", "date": "2026-05-01"}, format="json"
    )
    assert response.status_code == 409


def test_it_links_only_the_users_own_items(user_client: APIClient, user: User, other_user: User) -> None:
    mine = ItemFactory.create(list=ListFactory.create(user=user))
    theirs = ItemFactory.create(list=ListFactory.create(user=other_user))
    assert user_client.post(URL, {"title": "a", "item": str(mine.pk)}, format="json").status_code == 201
    response = user_client.post(URL, {"title": "b", "item": str(theirs.pk)}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"item": ["No such item."]}


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "x" * 501},
        {"title": "ok", "note": "n" * 10_001},
        {"title": "ok", "date": "2026-02-30"},
        {"title": "ok", "date": "tomorrow"},
        {"title": "ok", "item": "nope"},
        {"title": "ok", "colour": "red"},
    ],
)
def test_it_rejects_bad_entries(user_client: APIClient, body: dict[str, Any]) -> None:
    assert user_client.post(URL, body, format="json").status_code == 400
    assert not AntiTodoEntry.objects.exists()


def test_updates_and_deletes_follow_the_version_rules(user_client: APIClient) -> None:
    entry = user_client.post(URL, {"title": "a", "date": "2026-05-01"}, format="json").json()
    path = f"{URL}/{entry['id']}"
    assert user_client.patch(path, {"title": "b"}, format="json").status_code == 428
    assert user_client.patch(path, {"title": "b", "version": 1}, format="json").json()["version"] == 2
    merged = user_client.patch(path, {"note": "n", "version": 1}, format="json")
    assert merged.status_code == 200
    assert merged.json()["title"] == "b"
    assert user_client.patch(path, {"title": "c", "version": 1}, format="json").status_code == 409
    put = user_client.put(path, {"title": "d", "version": 3}, format="json")
    assert put.status_code == 200
    assert put.json()["date"] == "2026-05-01"  # PUT without a date keeps it
    assert put.json()["note"] == ""
    assert user_client.delete(path).status_code == 428
    assert user_client.delete(path, HTTP_IF_MATCH='"1"').status_code == 412
    assert user_client.delete(f"{path}?version=4").status_code == 204
    assert user_client.get(path).status_code == 404


def test_lists_one_day_by_default_today_or_a_range(user_client: APIClient, user: User) -> None:
    with time_machine.travel("2026-05-04T12:00:00Z", tick=False):
        for offset in range(5):
            AntiTodoEntryFactory.create(user=user, date=date(2026, 5, 4) - timedelta(days=offset))
        today = client_for(user).get(URL).json()["results"]
    assert [e["date"] for e in today] == ["2026-05-04"]
    assert len(user_client.get(f"{URL}?date=2026-05-02").json()["results"]) == 1
    ranged = user_client.get(f"{URL}?from=2026-05-01&to=2026-05-03&ordering=date").json()["results"]
    assert [e["date"] for e in ranged] == ["2026-05-01", "2026-05-02", "2026-05-03"]


@pytest.mark.parametrize(
    "query",
    [
        "date=2026-13-01",
        "from=2026-05-02&to=2026-05-01",
        "from=2025-01-01&to=2026-01-02",
        "from=2026-05-01",
        "to=2026-05-01",
        "date=",
        "from=&to=2026-05-01",
        "ordering=title",
    ],
)
def test_bad_list_queries_are_400(user_client: APIClient, query: str) -> None:
    assert user_client.get(f"{URL}?{query}").status_code == 400


def test_another_users_entries_are_invisible(
    user_client: APIClient, other_client: APIClient, user: User
) -> None:
    entry = AntiTodoEntryFactory.create(user=user, date=date(2026, 5, 1))
    path = f"{URL}/{entry.pk}"
    assert other_client.get(path).status_code == 404
    assert other_client.patch(path, {"title": "x", "version": 1}, format="json").status_code == 404
    assert other_client.delete(f"{path}?version=1").status_code == 404
    assert other_client.get(f"{URL}?date=2026-05-01").json()["results"] == []
    assert user_client.get(path).status_code == 200


def test_anti_todo_requires_authentication(api_client: APIClient, db: Any) -> None:
    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, {"title": "x"}, format="json").status_code == 401
    assert api_client.get(f"{URL}/{uuid.uuid4()}").status_code == 401


def test_deleting_the_linked_item_clears_the_link_as_a_new_version(
    user_client: APIClient, user: User
) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    entry = AntiTodoEntryFactory.create(user=user, item=item, date=date(2026, 5, 1))
    item_delete(user=user, item_id=item.pk, base=BaseVersion(version=item.version))
    body = user_client.get(f"{URL}/{entry.pk}").json()
    assert body["item"] is None
    assert body["version"] == 2
    assert ChangeRecord.objects.get(entity_id=entry.pk, version=2).fields == ["item"]


@pytest.mark.parametrize("rows", [5, 50])
def test_the_list_costs_the_same_queries_for_5_and_50_entries(
    user_client: APIClient, user: User, rows: int
) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    for n in range(rows):
        AntiTodoEntryFactory.create(user=user, date=date(2026, 1, 1) + timedelta(days=n % 40), item=item)
    with CaptureQueriesContext(connection) as queries:
        response = user_client.get(f"{URL}?from=2026-01-01&to=2026-12-31&limit=200")
    assert len(response.json()["results"]) == rows
    # 1 the user of the access token, 2 the page of entries.
    assert len(queries) == 2, [q["sql"] for q in queries.captured_queries]


def test_the_sync_type_is_registered(user: User) -> None:
    entry = AntiTodoEntryFactory.create(user=user, date=date(2026, 5, 1))
    sync_type = registry.get("anti_todo")
    assert sync_type is not None
    assert sync_type.to_data(entry)["title"] == entry.title
