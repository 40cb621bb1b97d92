"""The field-level merge reads only the history of the entity it merges (docs/api/versions.md).

Ids are chosen by clients, so one id can name a list and an item of the same user, or an entity that was
deleted and created again; neither may lend its change records to the merge of another.
"""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import ListFactory

pytestmark = pytest.mark.django_db


def test_a_list_sharing_an_items_id_does_not_spoil_the_items_merge(
    user_client: APIClient, user: User
) -> None:
    shared = str(uuid.uuid4())
    home = ListFactory.create(user=user)
    assert user_client.post("/api/v1/lists", {"id": shared, "name": "L"}).status_code == 201
    assert (
        user_client.post("/api/v1/items", {"id": shared, "list": str(home.pk), "title": "I"}).status_code
        == 201
    )
    user_client.patch(f"/api/v1/lists/{shared}", {"position": 5, "version": 1})
    user_client.patch(f"/api/v1/lists/{shared}", {"name": "L3", "version": 2})
    assert user_client.patch(f"/api/v1/items/{shared}", {"priority": 1, "version": 1}).status_code == 200

    response = user_client.patch(f"/api/v1/items/{shared}", {"title": "I2", "version": 1})

    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["priority"], response.json()["version"]) == ("I2", 1, 3)


def test_a_list_sharing_an_items_id_lends_it_no_conflicts(user_client: APIClient, user: User) -> None:
    shared = str(uuid.uuid4())
    home = ListFactory.create(user=user)
    user_client.post("/api/v1/lists", {"id": shared, "name": "L"})
    user_client.post("/api/v1/items", {"id": shared, "list": str(home.pk), "title": "I"})
    user_client.patch(f"/api/v1/lists/{shared}", {"position": 5, "version": 1})
    user_client.patch(f"/api/v1/items/{shared}", {"title": "I2", "version": 1})

    response = user_client.patch(f"/api/v1/items/{shared}", {"position": 7, "version": 1})

    assert response.status_code == 200, response.content
    assert response.json()["position"] == 7


def test_a_recreated_item_merges_on_its_own_history(user_client: APIClient, user: User) -> None:
    chosen = str(uuid.uuid4())
    home = ListFactory.create(user=user)
    user_client.post("/api/v1/items", {"id": chosen, "list": str(home.pk), "title": "Old"})
    user_client.patch(f"/api/v1/items/{chosen}", {"title": "Old 2", "version": 1})
    user_client.patch(f"/api/v1/items/{chosen}", {"title": "Old 3", "version": 2})
    assert user_client.delete(f"/api/v1/items/{chosen}?version=3").status_code == 204
    again = user_client.post("/api/v1/items", {"id": chosen, "list": str(home.pk), "title": "New"})
    assert again.status_code == 201
    user_client.patch(f"/api/v1/items/{chosen}", {"priority": 1, "version": 1})

    response = user_client.patch(f"/api/v1/items/{chosen}", {"title": "New 2", "version": 1})

    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["priority"]) == ("New 2", 1)
