"""`user/import` in `merge` mode (docs/api/export-import.md): an entity the account already has (the same id,
or a focus card of the same day) is that entity, and the newer side by `updated_at` wins."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from antitodo.models import AntiTodoEntry
from focus.models import FocusCard
from lists.models import Item, List
from sync.models import ChangeRecord
from tests.conftest import client_for
from tests.factories import ItemFactory, ListFactory
from tests.portability.helpers import exported
from tests.sync.helpers import pull

pytestmark = pytest.mark.django_db

DAY = "2026-03-01"
LATER = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def own_data(user: User, user_client: APIClient) -> User:
    home = ListFactory.create(user=user, name="Home")
    milk = ItemFactory.create(list=home, title="Milk")
    bread = ItemFactory.create(list=home, title="Bread", status="done")
    card = {"intention": "eat", "items": [str(bread.pk), str(milk.pk)]}
    assert user_client.put(f"/api/v1/focus-card?date={DAY}", card).status_code == 201
    entry = {"title": "Baked", "date": DAY, "item": str(bread.pk)}
    assert user_client.post("/api/v1/anti-todo", entry).status_code == 201
    profile_version = pull(user_client)["changes"][0]["version"]
    profile = {"timezone": "Europe/Paris", "preferences": {"focus_size": 7}, "version": profile_version}
    assert user_client.patch("/api/v1/user/profile", profile).status_code == 200
    return user


def merge(client: APIClient, document: Any) -> Any:
    return client.post("/api/v1/user/import", {"document": document, "mode": "merge"})


def versions(user: User) -> dict[str, int]:
    """Every synced entity of the user (the profile included) and its version, from a full pull."""
    return {change["id"]: change["version"] for change in pull(client_for(user))["changes"]}


def test_merging_ones_own_export_succeeds_and_changes_nothing(user_client: APIClient, own_data: User) -> None:
    document = exported(user_client)
    before, changes = versions(own_data), ChangeRecord.objects.filter(space__user=own_data).count()

    response = merge(user_client, document)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "mode": "merge",
        "imported": {"lists": 0, "items": 0, "focus_cards": 0, "anti_todo": 0, "reminders": 0},
        "kept": {"lists": 1, "items": 2, "focus_cards": 1, "anti_todo": 1, "reminders": 0},
        "replaced_ids": {},
    }
    assert versions(own_data) == before
    assert ChangeRecord.objects.filter(space__user=own_data).count() == changes
    again = exported(user_client)
    assert {k: v for k, v in again.items() if k != "exported_at"} == {
        k: v for k, v in document.items() if k != "exported_at"
    }


def test_a_newer_local_entity_is_kept(user_client: APIClient, own_data: User) -> None:
    document = exported(user_client)
    milk = Item.objects.get(user=own_data, title="Milk")
    renamed = user_client.patch(f"/api/v1/items/{milk.pk}", {"title": "Oat milk", "version": milk.version})
    assert renamed.status_code == 200

    response = merge(user_client, document)

    assert response.status_code == 200, response.content
    assert response.json()["kept"]["items"] == 2
    milk.refresh_from_db()
    assert (milk.title, milk.version) == ("Oat milk", renamed.json()["version"])


def test_a_newer_document_entity_replaces_the_local_one(user_client: APIClient, own_data: User) -> None:
    document = exported(user_client)
    entry = next(row for row in document["items"] if row["title"] == "Milk")
    entry.update(title="Oat milk", priority=1, updated_at=LATER)
    milk = Item.objects.get(user=own_data, title="Milk")

    response = merge(user_client, document)

    assert response.status_code == 200, response.content
    assert response.json()["imported"]["items"] == 1
    assert response.json()["kept"]["items"] == 1
    milk.refresh_from_db()
    assert (milk.title, milk.priority, milk.version) == ("Oat milk", 1, 2)
    record = ChangeRecord.objects.get(entity_id=milk.pk, version=2)
    assert {"title", "priority"} <= set(record.fields)


def test_a_document_entity_without_updated_at_leaves_the_local_one(
    user_client: APIClient, own_data: User
) -> None:
    document = exported(user_client)
    home = document["lists"][0]
    del home["updated_at"]
    home["name"] = "Elsewhere"

    response = merge(user_client, document)

    assert response.status_code == 200, response.content
    assert List.objects.get(user=own_data).name == "Home"


def test_a_card_for_a_day_that_has_one_is_that_card(
    user_client: APIClient, own_data: User, other_user: User
) -> None:
    """Another account's card of the same day (another id) merges into the local card, which keeps its
    id; the newer side wins like for any entity."""
    other = client_for(other_user)
    theirs = ListFactory.create(user=other_user, name="Theirs")
    tea = ItemFactory.create(list=theirs, title="Tea")
    assert (
        other.put(f"/api/v1/focus-card?date={DAY}", {"intention": "rest", "items": [str(tea.pk)]}).status_code
        == 201
    )
    document = exported(other)
    local = FocusCard.objects.get(user=own_data)
    document["focus_cards"][0]["updated_at"] = LATER

    response = merge(user_client, document)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["imported"]["focus_cards"] == 1
    assert body["replaced_ids"][document["focus_cards"][0]["id"]] == str(local.pk)
    card = FocusCard.objects.get(user=own_data)  # still one card that day, with its own id
    assert card.pk == local.pk
    assert card.intention == "rest"
    new_tea = Item.objects.get(user=own_data, title="Tea")
    assert [entry.item_id for entry in card.entries.order_by("position")] == [new_tea.pk]
    assert FocusCard.objects.get(user=other_user).intention == "rest"


def test_an_older_card_for_a_day_that_has_one_leaves_the_local_card(
    user_client: APIClient, own_data: User
) -> None:
    document = exported(user_client)
    card = document["focus_cards"][0]
    card.update(
        id="0b1c2d3e-0000-4000-8000-000000000001", intention="older", updated_at="2020-01-01T00:00:00Z"
    )

    response = merge(user_client, document)

    assert response.status_code == 200, response.content
    assert response.json()["kept"]["focus_cards"] == 1
    assert FocusCard.objects.get(user=own_data).intention == "eat"


def test_two_cards_of_one_day_in_a_document_are_400_and_change_nothing(
    user_client: APIClient, own_data: User
) -> None:
    document = exported(user_client)
    twin = copy.deepcopy(document["focus_cards"][0])
    twin["id"] = "0b1c2d3e-0000-4000-8000-000000000002"
    document["focus_cards"].append(twin)
    document["lists"][0].update(name="Changed", updated_at=LATER)
    before = versions(own_data)

    response = merge(user_client, document)

    assert response.status_code == 400
    assert "focus_cards[1].date" in response.json()["errors"]
    assert versions(own_data) == before


@pytest.mark.parametrize("value", ["yesterday", 5, "2026-03-01T10:00:00"])
def test_an_updated_at_that_is_not_an_rfc_3339_time_is_400(
    user_client: APIClient, own_data: User, value: Any
) -> None:
    document = exported(user_client)
    document["anti_todo"][0]["updated_at"] = value
    before = versions(own_data)

    response = merge(user_client, document)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["anti_todo[0].updated_at"]
    assert versions(own_data) == before
    assert AntiTodoEntry.objects.filter(user=own_data).count() == 1
