"""Export and import with focus cards, anti-todo entries and the profile (docs/api/README.md)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Profile, User
from antitodo.models import AntiTodoEntry
from focus.models import FocusCard
from lists.models import Item
from sync.models import ChangeRecord
from tests.conftest import client_for
from tests.factories import AntiTodoEntryFactory, FocusCardFactory, ItemFactory, ListFactory, UserFactory
from tests.portability.helpers import as_account, exported
from tests.sync.helpers import pull

pytestmark = pytest.mark.django_db


def _strip(document: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in document.items() if k != "exported_at"}
    for key, value in clean.items():
        if isinstance(value, list):
            clean[key] = [
                {k: v for k, v in row.items() if k not in ("created_at", "updated_at")} for row in value
            ]
    return clean


@pytest.fixture
def filled(user: User, user_client: APIClient) -> User:
    home = ListFactory.create(user=user, name="Home")
    milk = ItemFactory.create(list=home, title="Milk")
    bread = ItemFactory.create(list=home, title="Bread", status="done")
    response = user_client.put(
        "/api/v1/focus-card?date=2026-03-01",
        {"intention": "eat", "items": [str(bread.pk), str(milk.pk)]},
        format="json",
    )
    assert response.status_code == 201, response.content
    response = user_client.post(
        "/api/v1/anti-todo", {"title": "Baked", "date": "2026-03-01", "item": str(bread.pk)}, format="json"
    )
    assert response.status_code == 201, response.content
    response = user_client.patch(
        "/api/v1/user/profile",
        {
            "timezone": "Pacific/Kiritimati",
            "preferences": {"focus_size": 7},
            "version": pull(user_client)["changes"][0]["version"],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return user


def _import(user_client: APIClient, document: Any, mode: str) -> Any:
    return user_client.post("/api/v1/user/import", {"document": document, "mode": mode}, format="json")


def test_a_round_trip_keeps_focus_cards_anti_todo_and_profile(user_client: APIClient, filled: User) -> None:
    first = exported(user_client)
    assert len(first["focus_cards"]) == len(first["anti_todo"]) == 1
    email, old_id = filled.email, filled.pk
    filled.delete()
    account = UserFactory.create(email=email)
    again = client_for(account)

    response = _import(again, first, "replace")

    assert response.status_code == 200, response.content
    assert _strip(exported(again)) == _strip(as_account(first, old_id, account.pk))


def test_merge_into_another_account_remaps_card_and_entry_references(
    user_client: APIClient, filled: User, other_user: User
) -> None:
    document = exported(user_client)
    other = client_for(other_user)

    response = _import(other, document, "merge")

    assert response.status_code == 200, response.content
    replaced = response.json()["replaced_ids"]
    items = {str(i.pk): i.title for i in Item.objects.filter(user=other_user)}
    assert set(items.values()) == {"Milk", "Bread"}
    card = FocusCard.objects.get(user=other_user)
    entry = AntiTodoEntry.objects.get(user=other_user)
    assert [items[str(e.item_id)] for e in card.entries.order_by("position")] == ["Bread", "Milk"]
    assert items[str(entry.item_id)] == "Bread"
    assert str(card.pk) in replaced.values()
    assert str(entry.pk) in replaced.values()
    # The original owner's data is untouched.
    assert FocusCard.objects.get(user=filled).entries.count() == 2


def test_a_bad_focus_card_deep_inside_changes_nothing(user_client: APIClient, filled: User) -> None:
    document = exported(user_client)
    bad = copy.deepcopy(document)
    bad["focus_cards"].append(
        {"id": "6d1c8c1e-8a9e-4c43-9c6f-1b0a3c7e9a11", "date": "2026-03-02", "items": ["not-an-id"]}
    )
    before = (Item.objects.count(), FocusCard.objects.count(), ChangeRecord.objects.count())

    for mode in ("merge", "replace"):
        response = _import(user_client, bad, mode)
        assert response.status_code == 400, response.content
        assert any(key.startswith("focus_cards[1].items") for key in response.json()["errors"])
    assert (Item.objects.count(), FocusCard.objects.count(), ChangeRecord.objects.count()) == before


@pytest.mark.parametrize(
    ("profile", "where"),
    [
        ({"timezone": "Nowhere/Town"}, "profile.timezone"),
        ({"preferences": {"focus_size": 99}}, "profile.preferences.focus_size"),
        ({"preferences": {"colour": "red"}}, "profile.preferences.colour"),
        ({"preferences": "x"}, "profile.preferences"),
        ({"onboarding": {"completed_steps": ["fly"]}}, "profile.onboarding.completed_steps"),
        ({"display_name": None}, "profile.display_name"),
        ({"shoe_size": 44}, "profile.shoe_size"),
    ],
)
def test_a_bad_profile_is_a_400_that_changes_nothing(
    user_client: APIClient, user: User, profile: dict[str, Any], where: str
) -> None:
    document = exported(user_client)
    document["profile"] = profile
    before = ChangeRecord.objects.count()

    response = _import(user_client, document, "merge")

    assert response.status_code == 400, response.content
    assert any(key.startswith(where) for key in response.json()["errors"]), response.json()
    user.refresh_from_db()
    assert user.timezone == "UTC"
    assert ChangeRecord.objects.count() == before
    assert user_client.get("/api/v1/focus-card").status_code == 404


def test_import_works_for_a_user_without_a_profile_yet(user: User, user_client: APIClient) -> None:
    Profile.objects.filter(user=user).delete()
    document = {"format": "daymark-export", "format_version": 1, "profile": {"display_name": "New"}}

    response = _import(user_client, document, "merge")

    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.display_name == "New"


def test_format_version_true_is_not_1(user_client: APIClient) -> None:
    response = _import(user_client, {"format": "daymark-export", "format_version": True}, "merge")

    assert response.status_code == 400


def test_focus_cards_and_entries_of_another_user_are_never_exported(
    user_client: APIClient, filled: User, other_user: User
) -> None:
    FocusCardFactory.create(user=other_user)
    AntiTodoEntryFactory.create(user=other_user)

    document = exported(user_client)

    assert len(document["focus_cards"]) == len(document["anti_todo"]) == 1
