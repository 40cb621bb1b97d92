"""Export and import (docs/api/README.md): whole-document validation, all or nothing, ids kept or remapped."""

from __future__ import annotations

import copy
from datetime import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from lists.models import Item, List
from sync import registry
from sync.models import ChangeRecord
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, ItemFactory, ListFactory
from tests.portability.helpers import as_account, exported

pytestmark = pytest.mark.django_db

TIMESTAMPS = {"created_at", "updated_at"}


def strip_timestamps(document: dict[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in document.items() if k != "exported_at"}
    for key, value in clean.items():
        if isinstance(value, list):
            clean[key] = [{k: v for k, v in entity.items() if k not in TIMESTAMPS} for entity in value]
    return clean


@pytest.fixture
def filled(user: User) -> User:
    home = ListFactory.create(user=user, name="Home", color="#112233")
    work = ListFactory.create(user=user, name="Work", archived=True)
    ItemFactory.create(list=home, title="Milk", priority=1, due_date="2026-12-01", due_time=time(7, 30))
    ItemFactory.create(list=home, title="Bread", status="done")
    ItemFactory.create(list=work, title="Report", notes="quarterly")
    return user


def import_(user_client: APIClient, document: Any, mode: str = "merge") -> Any:
    return user_client.post("/api/v1/user/import", {"document": document, "mode": mode})


class TestExport:
    def test_it_holds_everything_the_user_owns_and_nothing_else(
        self, user_client: APIClient, filled: User, other_user: User
    ) -> None:
        ItemFactory.create(list=ListFactory.create(user=other_user))
        document = exported(user_client)
        assert document["format"] == "daymark-export"
        assert document["format_version"] == 1
        assert document["exported_at"].endswith("Z")
        assert {row["name"] for row in document["lists"]} == {"Home", "Work"}
        assert {row["title"] for row in document["items"]} == {"Milk", "Bread", "Report"}
        assert document["profile"]["timezone"] == "UTC"
        assert all("version" not in row for row in document["items"])

    def test_it_needs_credentials(self, api_client: APIClient) -> None:
        assert api_client.get("/api/v1/user/export").status_code == 401
        assert api_client.post("/api/v1/user/import", {}).status_code == 401


class TestRoundTrip:
    @pytest.mark.xfail(
        registry.get("profile") is None,
        reason="the profile's display_name and timezone import through the profile sync type, which is "
        "not registered on this branch yet (daily-workflow)",
        strict=True,
    )
    def test_export_delete_register_import_gives_the_same_export(
        self, user_client: APIClient, filled: User
    ) -> None:
        first = exported(user_client)
        deleted = user_client.delete("/api/v1/user", {"password": DEFAULT_PASSWORD})
        assert deleted.status_code == 204
        registered = APIClient().post(
            "/api/v1/auth/register", {"email": filled.email, "password": "a brand new passphrase"}
        )
        assert registered.status_code == 201
        new_client = APIClient()
        new_client.credentials(HTTP_AUTHORIZATION=f"Bearer {registered.json()['access']}")
        response = import_(new_client, first, "replace")
        assert response.status_code == 200, response.content
        assert response.json()["replaced_ids"] == {}
        second = exported(new_client)
        new_id = User.objects.get(email=filled.email).pk
        assert strip_timestamps(second) == strip_timestamps(as_account(first, filled.pk, new_id))

    def test_imports_are_recorded_as_changes_for_sync(
        self, user_client: APIClient, filled: User, other_user: User
    ) -> None:
        document = exported(user_client)
        import_(client_for(other_user), document)
        recorded = set(
            ChangeRecord.objects.filter(space__user=other_user).values_list("entity_type", flat=True)
        )
        assert {"list", "item"} <= recorded


class TestAllOrNothing:
    def test_one_bad_entity_deep_inside_changes_nothing_and_is_named(
        self, user_client: APIClient, filled: User
    ) -> None:
        document = exported(user_client)
        bad = copy.deepcopy(document)
        bad["items"][2]["priority"] = 9
        before = (List.objects.count(), Item.objects.count(), ChangeRecord.objects.count())
        for mode in ("merge", "replace"):
            response = import_(user_client, bad, mode)
            assert response.status_code == 400
            assert response.json()["errors"] == {
                "items[2].priority": ["Ensure this value is less than or equal to 4."]
            }
        assert (List.objects.count(), Item.objects.count(), ChangeRecord.objects.count()) == before

    @pytest.mark.parametrize("document", [None, [], "daymark-export"])
    def test_a_document_that_is_not_an_object_is_400(self, user_client: APIClient, document: Any) -> None:
        response = user_client.post(
            "/api/v1/user/import", {"document": document, "mode": "replace"}, format="json"
        )
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["document"]

    @pytest.mark.parametrize(
        ("mutate", "where"),
        [
            (lambda d: d.update(format="other"), "document.format"),
            (lambda d: d.update(format_version=2), "document.format_version"),
            (lambda d: d.update(format_version=True), "document.format_version"),
            (lambda d: d.update(surprise=1), "document.surprise"),
            (lambda d: d.update(items="nope"), "items"),
            (lambda d: d["items"].append(42), "items[3]"),
            (lambda d: d["items"][0].pop("id"), "items[0].id"),
            (lambda d: d["items"][1].update(id=d["items"][0]["id"]), "items[1].id"),
            (lambda d: d["items"][0].update(list="5b0e6a52-8f6f-4d36-a3cb-0d5c3c8f1d11"), "items[0].list"),
            (lambda d: d["lists"][1].update(color="blue"), "lists[1].color"),
            (lambda d: d["items"][0].update(title="x\x00y"), "items[0].title"),
        ],
    )
    def test_invalid_documents_are_400_naming_the_place(
        self, user_client: APIClient, filled: User, mutate: Any, where: str
    ) -> None:
        document = exported(user_client)
        mutate(document)
        count = Item.objects.count()
        response = import_(user_client, document)
        assert response.status_code == 400
        assert where in response.json()["errors"]
        assert Item.objects.count() == count

    @pytest.mark.parametrize(
        "body", [{"document": {}, "mode": "upsert"}, {"mode": "merge"}, {"document": [], "mode": "merge"}]
    )
    def test_a_bad_request_is_400(self, user_client: APIClient, body: dict[str, Any]) -> None:
        assert user_client.post("/api/v1/user/import", body).status_code == 400


class TestModes:
    def test_replace_removes_current_data_with_tombstones(self, user_client: APIClient, filled: User) -> None:
        old_ids = set(Item.objects.filter(user=filled).values_list("pk", flat=True))
        document = {"format": "daymark-export", "format_version": 1, "lists": [], "items": []}
        document["lists"] = [{"id": "11111111-1111-4111-8111-111111111111", "name": "Fresh"}]
        response = import_(user_client, document, "replace")
        assert response.status_code == 200
        assert list(List.objects.filter(user=filled).values_list("name", flat=True)) == ["Fresh"]
        assert not Item.objects.filter(user=filled).exists()
        tombstones = set(
            ChangeRecord.objects.filter(space__user=filled, deleted=True).values_list("entity_id", flat=True)
        )
        assert old_ids <= tombstones

    def test_ids_taken_by_another_user_are_replaced_and_references_remapped(
        self, user_client: APIClient, filled: User, other_user: User
    ) -> None:
        document = exported(user_client)
        response = import_(client_for(other_user), document, "replace")
        assert response.status_code == 200
        replaced = response.json()["replaced_ids"]
        assert len(replaced) == 5
        theirs = Item.objects.filter(user=other_user)
        assert theirs.count() == 3
        assert all(item.list.user_id == other_user.pk for item in theirs)
        assert List.objects.filter(user=filled).count() == 2
