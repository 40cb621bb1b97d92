"""The role matrix of lists and items in a workspace (docs/api/workspaces.md): members read; editors,
admins and the owner write; a viewer's write is 403 `permission_denied`, a non-member's (never one, or
removed) a 404 as for an id that does not exist; a refused write changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from lists.models import Item, List
from sync.models import ChangeRecord
from tests.factories import ItemFactory, ListFactory
from tests.lists.conftest import EDITORS, MEMBERS, PEOPLE, Shared, snapshot

pytestmark = pytest.mark.django_db


def expected(who: str, allowed: int, *, stranger: int = 404) -> int:
    if who in EDITORS:
        return allowed
    return 403 if who == "viewer" else stranger


def check_refusal(response: Any, status: int, before: tuple[Any, ...]) -> None:
    assert response.status_code == status, response.content
    if status >= 400:
        assert snapshot() == before
    if status == 403:
        assert response.json()["code"] == "permission_denied"


def versioned(entity: List | Item) -> dict[str, Any]:
    entity.refresh_from_db()
    return {"version": entity.version}


class TestReads:
    @pytest.mark.parametrize("who", PEOPLE)
    def test_members_read_the_workspaces_lists_and_items_and_others_get_404(
        self, shared: Shared, who: str
    ) -> None:
        client = shared.team.client(who)
        status = 200 if who in MEMBERS else 404
        assert client.get(shared.url("lists", shared.list)).status_code == status
        assert client.get(shared.url("items", shared.item)).status_code == status
        listed = [row["id"] for row in client.get("/api/v1/items").json()["results"]]
        assert (str(shared.item.pk) in listed) == (who in MEMBERS)

    @pytest.mark.parametrize("who", PEOPLE)
    def test_the_workspace_filter_narrows_to_it(self, shared: Shared, who: str) -> None:
        client = shared.team.client(who)
        ListFactory.create(user=shared.team.users[who], name="Own")
        workspace = shared.team.workspace.pk
        lists = client.get(f"/api/v1/lists?workspace={workspace}").json()["results"]
        items = client.get(f"/api/v1/items?workspace={workspace}").json()["results"]
        mine = client.get("/api/v1/lists?workspace=personal").json()["results"]
        if who in MEMBERS:
            assert [row["id"] for row in lists] == [str(shared.list.pk)]
            assert lists[0]["workspace"] == str(workspace)
            assert [row["id"] for row in items] == [str(shared.item.pk)]
        else:
            assert lists == items == []
        assert [row["name"] for row in mine] == ["Own"]


class TestListWrites:
    @pytest.mark.parametrize("who", PEOPLE)
    def test_creating_a_list_in_the_workspace_needs_editor(self, shared: Shared, who: str) -> None:
        before = snapshot()
        response = shared.team.client(who).post(
            "/api/v1/lists", {"name": "New", "workspace": str(shared.team.workspace.pk)}
        )
        check_refusal(response, expected(who, 201), before)
        if response.status_code == 201:
            assert response.json()["workspace"] == str(shared.team.workspace.pk)
            created = List.objects.get(pk=response.json()["id"])
            assert created.space_id == shared.space_id

    @pytest.mark.parametrize("who", PEOPLE)
    def test_changing_a_list_needs_editor(self, shared: Shared, who: str) -> None:
        before = snapshot()
        response = shared.team.client(who).patch(
            shared.url("lists", shared.list), {"name": "Renamed", **versioned(shared.list)}
        )
        check_refusal(response, expected(who, 200), before)

    @pytest.mark.parametrize("who", PEOPLE)
    def test_deleting_a_list_needs_editor(self, shared: Shared, who: str) -> None:
        before = snapshot()
        response = shared.team.client(who).delete(f"{shared.url('lists', shared.list)}?version=1")
        check_refusal(response, expected(who, 204), before)
        assert Item.objects.filter(pk=shared.item.pk).exists() == (who not in EDITORS)

    def test_a_workspace_that_does_not_exist_is_a_404(self, shared: Shared) -> None:
        before = snapshot()
        response = shared.team.client("editor").post(
            "/api/v1/lists", {"name": "New", "workspace": "5b0e6a52-8f6f-4d36-a3cb-0d5c3c8f1d11"}
        )
        check_refusal(response, 404, before)

    @pytest.mark.parametrize("bad", [12, "personal", "not-a-uuid", True, ["x"]])
    def test_a_workspace_that_is_not_an_id_is_a_400(self, shared: Shared, bad: Any) -> None:
        before = snapshot()
        response = shared.team.client("editor").post("/api/v1/lists", {"name": "New", "workspace": bad})
        check_refusal(response, 400, before)
        assert "workspace" in response.json()["errors"]


class TestItemWrites:
    @pytest.mark.parametrize("who", PEOPLE)
    def test_creating_an_item_needs_editor_and_a_stranger_cannot_name_the_list(
        self, shared: Shared, who: str
    ) -> None:
        before = snapshot()
        response = shared.team.client(who).post(
            "/api/v1/items", {"list": str(shared.list.pk), "title": "New"}
        )
        # A list the caller cannot see is a 400 on `list`, the answer for a list that does not exist.
        check_refusal(response, expected(who, 201, stranger=400), before)
        if response.status_code == 201:
            created = Item.objects.get(pk=response.json()["id"])
            assert created.space_id == shared.space_id
            assert response.json()["created_by"] == str(shared.team.users[who].pk)

    @pytest.mark.parametrize("who", PEOPLE)
    def test_changing_an_item_needs_editor(self, shared: Shared, who: str) -> None:
        before = snapshot()
        response = shared.team.client(who).patch(
            shared.url("items", shared.item), {"status": "done", **versioned(shared.item)}
        )
        check_refusal(response, expected(who, 200), before)
        if response.status_code == 200:
            assert response.json()["completed_by"] == str(shared.team.users[who].pk)

    @pytest.mark.parametrize("who", PEOPLE)
    def test_deleting_an_item_needs_editor(self, shared: Shared, who: str) -> None:
        before = snapshot()
        response = shared.team.client(who).delete(f"{shared.url('items', shared.item)}?version=1")
        check_refusal(response, expected(who, 204), before)


class TestMoves:
    @pytest.mark.parametrize("who", PEOPLE)
    def test_moving_a_personal_list_into_the_workspace_needs_editor_there(
        self, shared: Shared, who: str
    ) -> None:
        user = shared.team.users[who]
        own = ListFactory.create(user=user, name="Mine")
        kept = ItemFactory.create(list=own, user=user)
        before = snapshot()
        response = shared.team.client(who).patch(
            shared.url("lists", own), {"workspace": str(shared.team.workspace.pk), "version": 1}
        )
        check_refusal(response, expected(who, 200), before)
        own.refresh_from_db()
        kept.refresh_from_db()
        moved = who in EDITORS
        assert (own.space_id == shared.space_id) == moved
        assert kept.space_id == own.space_id

    @pytest.mark.parametrize("who", PEOPLE)
    def test_moving_a_workspace_list_to_personal_needs_editor(self, shared: Shared, who: str) -> None:
        before = snapshot()
        response = shared.team.client(who).patch(
            shared.url("lists", shared.list), {"workspace": None, "version": 1}
        )
        check_refusal(response, expected(who, 200), before)
        if response.status_code == 200:
            shared.item.refresh_from_db()
            user = shared.team.users[who]
            assert shared.item.space.user_id == user.pk
            assert (shared.item.user_id, List.objects.get(pk=shared.list.pk).user_id) == (user.pk, user.pk)

    @pytest.mark.parametrize("who", PEOPLE)
    def test_moving_a_personal_item_to_a_workspace_list_needs_editor_there(
        self, shared: Shared, who: str
    ) -> None:
        user = shared.team.users[who]
        own = ItemFactory.create(list=ListFactory.create(user=user), user=user)
        before = snapshot()
        response = shared.team.client(who).patch(
            shared.url("items", own), {"list": str(shared.list.pk), "version": 1}
        )
        check_refusal(response, expected(who, 200, stranger=400), before)
        own.refresh_from_db()
        assert (own.space_id == shared.space_id) == (who in EDITORS)

    def test_a_move_records_the_departure_and_the_arrival_once(self, shared: Shared) -> None:
        own = ListFactory.create(user=shared.team.users["editor"])
        item = ItemFactory.create(list=own, user=shared.team.users["editor"])
        response = shared.team.client("editor").patch(
            shared.url("lists", own), {"workspace": str(shared.team.workspace.pk), "version": 1}
        )
        assert response.status_code == 200, response.content
        for entity in (own, item):
            records = ChangeRecord.objects.filter(entity_id=entity.pk).order_by("id")
            out, arrival = list(records)[-2:]
            assert (out.target_space_id, out.deleted) == (shared.space_id, False)
            assert arrival.space_id == shared.space_id
        assert [r.fields for r in ChangeRecord.objects.filter(entity_id=own.pk).order_by("id")][-1] == [
            "workspace"
        ]

    def test_moving_between_two_workspaces_needs_editor_in_both(
        self, shared: Shared, other_workspace: Any
    ) -> None:
        # The editor is a viewer in the other workspace: refused, nothing changed.
        before = snapshot()
        response = shared.team.client("editor").patch(
            shared.url("lists", shared.list), {"workspace": str(other_workspace.pk), "version": 1}
        )
        check_refusal(response, 403, before)
        # The admin is an editor there: the list goes, with its item.
        response = shared.team.client("admin").patch(
            shared.url("lists", shared.list), {"workspace": str(other_workspace.pk), "version": 1}
        )
        assert response.status_code == 200, response.content
        shared.item.refresh_from_db()
        assert shared.item.space_id == other_workspace.space_id

    def test_moving_an_item_to_another_users_personal_list_is_a_400(
        self, shared: Shared, other_user: Any
    ) -> None:
        theirs = ListFactory.create(user=other_user)
        before = snapshot()
        response = shared.team.client("editor").patch(
            shared.url("items", shared.item), {"list": str(theirs.pk), "version": 1}
        )
        check_refusal(response, 400, before)


@pytest.fixture
def other_workspace(shared: Shared) -> Any:
    from tests.factories import MemberFactory, WorkspaceFactory

    workspace = WorkspaceFactory.create(user=shared.team.users["owner"], name="Other")
    MemberFactory.create(workspace=workspace, user=shared.team.users["editor"], role="viewer")
    MemberFactory.create(workspace=workspace, user=shared.team.users["admin"], role="editor")
    return workspace
