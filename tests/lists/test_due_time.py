"""An item's `due_time` (`HH:MM` on its `due_date`) through every writer: REST, push, the feed, export and
import; never without a date."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from lists.models import Item
from sync.models import ChangeRecord
from tests.factories import ItemFactory, ListFactory
from tests.portability.helpers import exported
from tests.sync.helpers import op, pull_all, push

pytestmark = pytest.mark.django_db


def _item(user_client: APIClient, user: User, **fields: Any) -> Any:
    a_list = ListFactory.create(user=user)
    return user_client.post(
        "/api/v1/items", {"list": str(a_list.pk), "title": "Call", **fields}, format="json"
    )


def _patch(user_client: APIClient, item_id: Any, version: int, **fields: Any) -> Any:
    return user_client.patch(f"/api/v1/items/{item_id}", {"version": version, **fields}, format="json")


class TestRest:
    def test_it_is_kept_and_answered_as_hours_and_minutes(self, user_client: APIClient, user: User) -> None:
        response = _item(user_client, user, due_date="2026-03-29", due_time="09:05")
        assert response.status_code == 201, response.content
        assert response.json()["due_time"] == "09:05"
        assert Item.objects.get().due_time == time(9, 5)
        fetched = user_client.get(f"/api/v1/items/{response.json()['id']}").json()
        assert fetched["due_time"] == "09:05"
        page = user_client.get("/api/v1/items").json()["results"]
        assert page[0]["due_time"] == "09:05"

    def test_an_item_without_one_answers_null(self, user_client: APIClient, user: User) -> None:
        assert _item(user_client, user).json()["due_time"] is None

    @pytest.mark.parametrize("value", ["9:05", "24:00", "12:60", "12:00:00", "12:00Z", "", "noon", 900, True])
    def test_anything_but_hh_mm_is_400_on_due_time(
        self, user_client: APIClient, user: User, value: Any
    ) -> None:
        response = _item(user_client, user, due_date="2026-03-29", due_time=value)
        assert response.status_code == 400
        assert "due_time" in response.json()["errors"]
        assert not Item.objects.exists()

    def test_a_time_without_a_date_is_400(self, user_client: APIClient, user: User) -> None:
        response = _item(user_client, user, due_time="09:00")
        assert response.status_code == 400
        assert response.json()["errors"] == {"due_time": ["Only an item with a due_date has a due_time."]}

    def test_a_time_for_a_stored_item_without_a_date_is_400(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        response = _patch(user_client, item.pk, 1, due_time="09:00")
        assert response.status_code == 400
        assert "due_time" in response.json()["errors"]
        assert Item.objects.get().version == 1

    def test_a_time_and_a_cleared_date_in_one_body_is_400(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user), due_date="2026-03-29")
        response = _patch(user_client, item.pk, 1, due_date=None, due_time="09:00")
        assert response.status_code == 400
        assert "due_time" in response.json()["errors"]

    def test_clearing_the_date_clears_the_time_as_a_change_of_both(
        self, user_client: APIClient, user: User
    ) -> None:
        created = _item(user_client, user, due_date="2026-03-29", due_time="09:00").json()
        response = _patch(user_client, created["id"], 1, due_date=None)
        assert response.status_code == 200, response.content
        assert (response.json()["due_date"], response.json()["due_time"]) == (None, None)
        record = ChangeRecord.objects.filter(entity_id=created["id"], version=2).get()
        assert record.fields == ["due_date", "due_time"]

    def test_moving_the_date_keeps_the_time(self, user_client: APIClient, user: User) -> None:
        created = _item(user_client, user, due_date="2026-03-29", due_time="09:00").json()
        body = _patch(user_client, created["id"], 1, due_date="2026-03-30").json()
        assert (body["due_date"], body["due_time"]) == ("2026-03-30", "09:00")

    def test_clearing_the_time_keeps_the_date(self, user_client: APIClient, user: User) -> None:
        created = _item(user_client, user, due_date="2026-03-29", due_time="09:00").json()
        body = _patch(user_client, created["id"], 1, due_time=None).json()
        assert (body["due_date"], body["due_time"]) == ("2026-03-29", None)

    def test_an_update_without_it_leaves_it(self, user_client: APIClient, user: User) -> None:
        created = _item(user_client, user, due_date="2026-03-29", due_time="09:00").json()
        body = _patch(user_client, created["id"], 1, title="Call back").json()
        assert body["due_time"] == "09:00"

    def test_a_stale_time_edit_conflicts_with_a_cleared_date(
        self, user_client: APIClient, user: User
    ) -> None:
        created = _item(user_client, user, due_date="2026-03-29", due_time="09:00").json()
        _patch(user_client, created["id"], 1, due_date=None)
        response = _patch(user_client, created["id"], 1, due_time="10:00")
        assert response.status_code == 409
        assert response.json()["conflicting_fields"] == ["due_time"]

    def test_filters_read_the_date_alone(self, user_client: APIClient, user: User) -> None:
        _item(user_client, user, due_date="2026-03-29", due_time="23:59")
        assert len(user_client.get("/api/v1/items", {"due_before": "2026-03-30"}).json()["results"]) == 1
        assert len(user_client.get("/api/v1/items", {"due_after": "2026-03-29"}).json()["results"]) == 0


class TestSyncAndPortability:
    def test_a_push_sets_it_and_the_feed_sends_it(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        item_id = uuid.uuid4()
        create = op("create", "item", item_id, list=str(a_list.pk), title="Call", due_date="2026-03-29")
        timed = op("update", "item", item_id, 1, due_time="18:30")
        results = push(user_client, [create, timed]).json()["results"]
        assert [r["status"] for r in results] == ["applied", "applied"]
        assert results[1]["entity"]["due_time"] == "18:30"
        _, changes = pull_all(user_client)
        item = next(c for c in changes if c["type"] == "item")
        assert item["data"]["due_time"] == "18:30"

    def test_a_pushed_time_without_a_date_is_invalid(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        create = op("create", "item", uuid.uuid4(), list=str(a_list.pk), title="Call", due_time="18:30")
        result = push(user_client, [create]).json()["results"][0]
        assert result["status"] == "invalid"
        assert "due_time" in result["error"]["errors"]
        assert not Item.objects.exists()

    def test_export_and_import_carry_it(self, user_client: APIClient, user: User) -> None:
        _item(user_client, user, due_date="2026-03-29", due_time="07:45")
        document = exported(user_client)
        assert document["items"][0]["due_time"] == "07:45"
        response = user_client.post(
            "/api/v1/user/import", {"document": document, "mode": "replace"}, format="json"
        )
        assert response.status_code == 200, response.content
        assert Item.objects.get().due_time == time(7, 45)

    def test_an_imported_time_without_a_date_is_400_naming_where(
        self, user_client: APIClient, user: User
    ) -> None:
        _item(user_client, user, due_date="2026-03-29", due_time="07:45")
        document = exported(user_client)
        document["items"][0]["due_date"] = None
        response = user_client.post(
            "/api/v1/user/import", {"document": document, "mode": "replace"}, format="json"
        )
        assert response.status_code == 400
        assert "items[0].due_time" in response.json()["errors"]
