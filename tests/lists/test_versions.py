"""The version rules of docs/api/versions.md, on items and lists."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from lists.models import Item, List
from sync.models import ChangeRecord
from tests.factories import ItemFactory, ListFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(user: User) -> Item:
    return ItemFactory.create(list=ListFactory.create(user=user), title="Milk", notes="", priority=3)


def url(item: Item) -> str:
    return f"/api/v1/items/{item.pk}"


def stored(item: Item) -> Item:
    return Item.objects.get(pk=item.pk)


class TestBodyVersion:
    def test_the_current_version_applies(self, user_client: APIClient, item: Item) -> None:
        response = user_client.patch(url(item), {"title": "Oat milk", "version": 1})
        assert response.status_code == 200
        assert response["ETag"] == '"2"'
        assert response.json()["version"] == 2

    def test_a_stale_version_merges_when_fields_do_not_overlap(
        self, user_client: APIClient, item: Item
    ) -> None:
        user_client.patch(url(item), {"title": "Oat milk", "version": 1})
        response = user_client.patch(url(item), {"priority": 1, "version": 1})
        assert response.status_code == 200
        body = response.json()
        assert (body["title"], body["priority"], body["version"]) == ("Oat milk", 1, 3)

    def test_a_stale_version_conflicts_when_fields_overlap(self, user_client: APIClient, item: Item) -> None:
        user_client.patch(url(item), {"title": "Oat milk", "version": 1})
        response = user_client.patch(url(item), {"title": "Soy milk", "priority": 2, "version": 1})
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "version_conflict"
        assert body["conflicting_fields"] == ["title"]
        assert body["current"]["title"] == "Oat milk"
        assert body["current"]["version"] == 2
        assert (stored(item).title, stored(item).priority, stored(item).version) == ("Oat milk", 3, 2)

    def test_setting_a_field_to_the_value_it_already_has_is_no_conflict(
        self, user_client: APIClient, item: Item
    ) -> None:
        user_client.patch(url(item), {"title": "Oat milk", "version": 1})
        response = user_client.patch(url(item), {"title": "Oat milk", "notes": "2 litres", "version": 1})
        assert response.status_code == 200
        assert response.json()["notes"] == "2 litres"

    def test_three_successive_merges_keep_every_clients_field(
        self, user_client: APIClient, item: Item
    ) -> None:
        edits: list[dict[str, Any]] = [
            {"title": "Oat milk"},
            {"priority": 1},
            {"notes": "the barista one"},
            {"due_date": "2026-12-01"},
        ]
        for edit in edits:
            assert user_client.patch(url(item), {**edit, "version": 1}).status_code == 200
        final = stored(item)
        assert (final.title, final.priority, final.notes, str(final.due_date)) == (
            "Oat milk",
            1,
            "the barista one",
            "2026-12-01",
        )
        assert final.version == 5

    def test_a_version_from_the_future_conflicts(self, user_client: APIClient, item: Item) -> None:
        response = user_client.patch(url(item), {"title": "x", "version": 9})
        assert response.status_code == 409
        assert stored(item).title == "Milk"

    def test_a_merge_without_the_history_it_needs_is_a_conflict(
        self, user_client: APIClient, item: Item
    ) -> None:
        user_client.patch(url(item), {"title": "Oat milk", "version": 1})
        ChangeRecord.objects.filter(entity_id=item.pk, version=2).delete()  # as pruning would
        response = user_client.patch(url(item), {"priority": 1, "version": 1})
        assert response.status_code == 409
        assert response.json()["conflicting_fields"] == ["priority"]

    @pytest.mark.parametrize("version", ["1", 1.5, True, -1, 0, None, "abc", [1]])
    def test_a_malformed_version_is_400(self, user_client: APIClient, item: Item, version: Any) -> None:
        # `"version": null` is a version of the wrong type, not a missing one.
        response = user_client.patch(url(item), {"title": "x", "version": version})
        assert response.status_code == 400
        assert stored(item).version == 1

    def test_put_follows_the_same_rules(self, user_client: APIClient, item: Item) -> None:
        user_client.patch(url(item), {"title": "Oat milk", "version": 1})
        whole = {"list": str(item.list_id), "title": "Rice milk", "version": 1}
        assert user_client.put(url(item), whole).status_code == 409
        assert user_client.put(url(item), {**whole, "version": 2}).status_code == 200


class TestIfMatch:
    def test_the_current_etag_applies(self, user_client: APIClient, item: Item) -> None:
        response = user_client.patch(url(item), {"title": "x"}, HTTP_IF_MATCH='"1"')
        assert response.status_code == 200
        assert response["ETag"] == '"2"'

    def test_a_stale_etag_is_412_and_never_merges(self, user_client: APIClient, item: Item) -> None:
        user_client.patch(url(item), {"title": "Oat milk", "version": 1})
        response = user_client.patch(url(item), {"priority": 1}, HTTP_IF_MATCH='"1"')
        assert response.status_code == 412
        body = response.json()
        assert body["code"] == "precondition_failed"
        assert body["current"]["version"] == 2
        assert stored(item).priority == 3

    @pytest.mark.parametrize("header", ['W/"1"', "1", '"one"', ""])
    def test_weak_or_malformed_etags_never_match(
        self, user_client: APIClient, item: Item, header: str
    ) -> None:
        response = user_client.patch(url(item), {"title": "x"}, HTTP_IF_MATCH=header)
        assert response.status_code == 412
        assert stored(item).title == "Milk"

    def test_if_match_wins_over_a_body_version(self, user_client: APIClient, item: Item) -> None:
        response = user_client.patch(url(item), {"title": "x", "version": 1}, HTTP_IF_MATCH='"7"')
        assert response.status_code == 412

    def test_a_star_matches_any_current_version(self, user_client: APIClient, item: Item) -> None:
        assert user_client.patch(url(item), {"title": "x"}, HTTP_IF_MATCH="*").status_code == 200


class TestVersionRequired:
    @pytest.mark.parametrize("method", ["patch", "put"])
    def test_an_update_without_a_version_is_428(
        self, user_client: APIClient, item: Item, method: str
    ) -> None:
        response = getattr(user_client, method)(url(item), {"list": str(item.list_id), "title": "x"})
        assert response.status_code == 428
        assert response.json()["code"] == "version_required"
        assert stored(item).title == "Milk"

    def test_a_delete_without_a_version_is_428(self, user_client: APIClient, item: Item) -> None:
        assert user_client.delete(url(item)).status_code == 428
        assert Item.objects.filter(pk=item.pk).exists()


class TestDelete:
    def test_a_stale_if_match_is_412(self, user_client: APIClient, item: Item) -> None:
        user_client.patch(url(item), {"title": "x", "version": 1})
        response = user_client.delete(url(item), HTTP_IF_MATCH='"1"')
        assert response.status_code == 412
        assert response.json()["current"]["title"] == "x"
        assert Item.objects.filter(pk=item.pk).exists()

    def test_a_stale_query_version_is_409_and_never_merges(self, user_client: APIClient, item: Item) -> None:
        user_client.patch(url(item), {"title": "x", "version": 1})
        response = user_client.delete(f"{url(item)}?version=1")
        assert response.status_code == 409
        assert response.json()["code"] == "version_conflict"
        assert Item.objects.filter(pk=item.pk).exists()

    def test_the_current_version_deletes(self, user_client: APIClient, item: Item) -> None:
        assert user_client.delete(f"{url(item)}?version=1").status_code == 204
        assert user_client.get(url(item)).status_code == 404


class TestListsFollowTheSameRules:
    def test_merge_conflict_and_current_with_open_count(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user, name="Home")
        ItemFactory.create(list=a_list)
        path = f"/api/v1/lists/{a_list.pk}"
        assert user_client.patch(path, {"name": "House", "version": 1}).status_code == 200
        merged = user_client.patch(path, {"color": "#000000", "version": 1})
        assert merged.status_code == 200
        assert merged.json()["name"] == "House"
        conflict = user_client.patch(path, {"name": "Flat", "version": 1})
        assert conflict.status_code == 409
        assert conflict.json()["current"]["open_count"] == 1
        assert List.objects.get(pk=a_list.pk).name == "House"
