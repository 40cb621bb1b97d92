"""The sync endpoints as clients see them: the worked example of docs/sync.md, routing and schema."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from lists.models import Item
from tests.sync.helpers import SYNC_URL, make_item, make_list, op, pull, push

pytestmark = pytest.mark.django_db


def test_the_worked_example_of_the_client_guide(user: Any, make_client: Any) -> None:
    """docs/sync.md: two devices edit the same item offline; one merge, then one conflict resolved."""
    # Position 1, not the factory's next number: a push setting the position it already has writes nothing.
    item = make_item(list=make_list(user=user), title="Buy milk", position=1)
    for version in (2, 3):  # bring it to version 3 as in the guide
        answer = push(
            make_client(user), [op("update", "item", item.pk, version - 1, position=version)]
        ).json()
        assert answer["results"][0]["entity"]["version"] == version
    phone, laptop = make_client(user), make_client(user)
    phone_cursor = laptop_cursor = pull(phone)["cursor"]

    # Round 1: different fields from the same base merge.
    answer = push(phone, [op("update", "item", item.pk, 3, title="Buy oat milk")], phone_cursor).json()
    assert answer["results"][0]["status"] == "applied"
    phone_cursor = answer["cursor"]
    answer = push(laptop, [op("update", "item", item.pk, 3, priority=1)], laptop_cursor).json()
    [merged] = answer["results"]
    assert merged["status"] == "merged"
    assert (merged["entity"]["title"], merged["entity"]["priority"], merged["entity"]["version"]) == (
        "Buy oat milk",
        1,
        5,
    )
    laptop_cursor = answer["cursor"]

    # Round 2: the same field from the same base conflicts; the laptop rebases and wins the next write.
    push(phone, [op("update", "item", item.pk, 5, notes="2 litres")], phone_cursor)
    answer = push(laptop, [op("update", "item", item.pk, 5, notes="the organic one")], laptop_cursor).json()
    [conflict] = answer["results"]
    assert conflict["status"] == "conflict"
    assert conflict["error"]["conflicting_fields"] == ["notes"]
    assert (conflict["error"]["current"]["notes"], conflict["error"]["current"]["version"]) == ("2 litres", 6)
    assert [c["version"] for c in answer["changes"]] == [6]
    resolved = op("update", "item", item.pk, 6, notes="2 litres, the organic one")
    assert push(laptop, [resolved]).json()["results"][0]["entity"]["version"] == 7

    changes = pull(phone, phone_cursor)["changes"]
    assert [(c["version"], c["data"]["notes"]) for c in changes] == [(7, "2 litres, the organic one")]
    assert Item.objects.get(pk=item.pk).version == 7


def test_the_sync_path_has_no_trailing_slash(user_client: Any) -> None:
    assert user_client.get(SYNC_URL + "/").status_code == 404


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_405_problems(user_client: Any, method: str) -> None:
    response = getattr(user_client, method)(SYNC_URL)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_the_schema_documents_both_sync_operations(user_client: Any) -> None:
    response = user_client.get("/api/schema", {"format": "json"})

    assert set(response.json()["paths"]["/api/v1/sync"]) >= {"get", "post"}


def test_a_push_to_another_users_entity_never_shows_in_either_feed(
    user: Any, user_client: Any, other_user: Any, other_client: Any
) -> None:
    theirs = make_item(list=make_list(user=other_user))
    their_cursor = pull(other_client)["cursor"]

    answer = push(
        user_client, [op("delete", "item", theirs.pk, 1), op("create", "list", uuid.uuid4(), name="Mine")]
    )

    assert [r["status"] for r in answer.json()["results"]] == ["invalid", "applied"]
    assert all(c["id"] != str(theirs.pk) for c in answer.json()["changes"])
    assert pull(other_client, their_cursor)["changes"] == []
