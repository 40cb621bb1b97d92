"""Items name people: `assignee` (who can see the item), read-only `created_by` and `completed_by`
(docs/api/README.md, items), and the `?assignee=` filter."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from lists.models import Item
from sync.models import ChangeRecord
from tests.factories import ItemFactory, ListFactory

pytestmark = pytest.mark.django_db


def _patch(client: APIClient, item: Item, **body: Any) -> Any:
    item.refresh_from_db()
    return client.patch(f"/api/v1/items/{item.pk}", {**body, "version": item.version}, format="json")


class TestCreatedAndCompletedBy:
    def test_a_new_item_names_its_creator_and_no_completer(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        body = user_client.post("/api/v1/items", {"list": str(a_list.pk), "title": "Milk"}).json()
        assert (body["created_by"], body["completed_by"], body["assignee"]) == (str(user.pk), None, None)

    def test_completing_names_the_completer_and_reopening_clears_it(
        self, user_client: APIClient, user: User
    ) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        assert _patch(user_client, item, status="done").json()["completed_by"] == str(user.pk)
        assert _patch(user_client, item, status="open").json()["completed_by"] is None

    def test_an_item_created_done_names_its_completer(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        body = user_client.post(
            "/api/v1/items", {"list": str(a_list.pk), "title": "Done", "status": "done"}
        ).json()
        assert body["completed_by"] == str(user.pk)

    def test_the_read_only_people_sent_back_are_ignored(
        self, user_client: APIClient, user: User, other_user: User
    ) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        response = _patch(user_client, item, created_by=str(other_user.pk), completed_by=str(other_user.pk))
        assert response.status_code == 200, response.content
        item.refresh_from_db()
        assert (item.created_by_id, item.completed_by_id, item.version) == (user.pk, None, 1)

    def test_the_completer_is_recorded_for_sync_with_the_status(
        self, user_client: APIClient, user: User
    ) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        _patch(user_client, item, status="done")
        record = ChangeRecord.objects.filter(entity_id=item.pk).order_by("-id").first()
        assert record is not None
        assert {"status", "completed_at", "completed_by"} <= set(record.fields)


class TestAssignee:
    def test_the_owner_of_a_personal_list_may_be_assigned(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        response = _patch(user_client, item, assignee=str(user.pk))
        assert response.status_code == 200, response.content
        assert response.json()["assignee"] == str(user.pk)
        record = ChangeRecord.objects.filter(entity_id=item.pk).order_by("-id").first()
        assert record is not None
        assert record.fields == ["assignee"]

    def test_unassigning_sets_null(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        _patch(user_client, item, assignee=str(user.pk))
        assert _patch(user_client, item, assignee=None).json()["assignee"] is None

    @pytest.mark.parametrize("who", ["other", "missing"])
    def test_in_a_personal_list_nobody_else_may_be_assigned(
        self, user_client: APIClient, user: User, other_user: User, who: str
    ) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        assignee = str(other_user.pk) if who == "other" else str(uuid.uuid4())
        response = _patch(user_client, item, assignee=assignee)
        assert response.status_code == 400
        assert "assignee" in response.json()["errors"]
        item.refresh_from_db()
        assert (item.assignee_id, item.version) == (None, 1)

    def test_a_create_with_someone_else_assigned_is_refused(
        self, user_client: APIClient, user: User, other_user: User
    ) -> None:
        a_list = ListFactory.create(user=user)
        response = user_client.post(
            "/api/v1/items", {"list": str(a_list.pk), "title": "x", "assignee": str(other_user.pk)}
        )
        assert response.status_code == 400
        assert not Item.objects.filter(list=a_list).exists()

    @pytest.mark.parametrize("bad", [12, "me", "not-a-uuid", True, ["x"]])
    def test_an_assignee_that_is_not_a_user_id_is_a_400(
        self, user_client: APIClient, user: User, bad: Any
    ) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        response = _patch(user_client, item, assignee=bad)
        assert response.status_code == 400
        assert "assignee" in response.json()["errors"]

    def test_a_put_without_assignee_keeps_it(self, user_client: APIClient, user: User) -> None:
        item = ItemFactory.create(list=ListFactory.create(user=user))
        _patch(user_client, item, assignee=str(user.pk))
        item.refresh_from_db()
        response = user_client.put(
            f"/api/v1/items/{item.pk}",
            {"list": str(item.list_id), "title": "renamed", "version": item.version},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert response.json()["assignee"] == str(user.pk)


class TestAssigneeFilter:
    def test_me_and_an_id_select_the_assigned_items(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        mine = ItemFactory.create(list=a_list)
        ItemFactory.create(list=a_list)
        _patch(user_client, mine, assignee=str(user.pk))
        for value in ("me", str(user.pk)):
            ids = [row["id"] for row in user_client.get(f"/api/v1/items?assignee={value}").json()["results"]]
            assert ids == [str(mine.pk)]

    def test_someone_elses_id_selects_nothing_of_theirs(
        self, user_client: APIClient, other_user: User
    ) -> None:
        other_list = ListFactory.create(user=other_user)
        ItemFactory.create(list=other_list, assignee=other_user.pk)
        assert user_client.get(f"/api/v1/items?assignee={other_user.pk}").json()["results"] == []

    @pytest.mark.parametrize("bad", ["you", "12", "x" * 40])
    def test_a_bad_assignee_filter_is_a_400(self, user_client: APIClient, bad: str) -> None:
        response = user_client.get(f"/api/v1/items?assignee={bad}")
        assert response.status_code == 400
        assert "assignee" in response.json()["errors"]


class TestWorkspaceFilter:
    def test_personal_selects_the_users_own_lists_and_items(self, user_client: APIClient, user: User) -> None:
        a_list = ListFactory.create(user=user)
        item = ItemFactory.create(list=a_list)
        lists = user_client.get("/api/v1/lists?workspace=personal").json()["results"]
        items = user_client.get("/api/v1/items?workspace=personal").json()["results"]
        assert ([row["id"] for row in lists], [row["id"] for row in items]) == (
            [str(a_list.pk)],
            [str(item.pk)],
        )

    def test_a_workspace_the_user_is_not_in_selects_nothing(self, user_client: APIClient, user: User) -> None:
        ItemFactory.create(list=ListFactory.create(user=user))
        for path in ("lists", "items"):
            response = user_client.get(f"/api/v1/{path}?workspace={uuid.uuid4()}")
            assert response.status_code == 200
            assert response.json()["results"] == []

    @pytest.mark.parametrize("path", ["lists", "items"])
    @pytest.mark.parametrize("bad", ["mine", "12", "x" * 40])
    def test_a_bad_workspace_filter_is_a_400(self, user_client: APIClient, path: str, bad: str) -> None:
        response = user_client.get(f"/api/v1/{path}?workspace={bad}")
        assert response.status_code == 400
        assert "workspace" in response.json()["errors"]
