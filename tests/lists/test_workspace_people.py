"""Assignees in a workspace, and what a member's departure and an item's leaving do to assignees and to
focus cards (docs/api/workspaces.md): items assigned to someone who leaves become unassigned, and cards
lose entries of items their owner can no longer see."""

from __future__ import annotations

from typing import Any

import pytest

from core.versioning import BaseVersion
from focus.models import FocusCard
from focus.services import card_item_ids
from lists.models import Item
from lists.services import item_delete, item_update, list_update
from sync.models import ChangeRecord
from tests.factories import FocusCardFactory, ItemFactory, ListFactory
from tests.lists.conftest import PEOPLE, Shared, snapshot
from workspaces.services import member_leave, member_remove, workspace_delete

pytestmark = pytest.mark.django_db


def _assign(shared: Shared, who: str, assignee: Any) -> Any:
    shared.item.refresh_from_db()
    return shared.team.client(who).patch(
        shared.url("items", shared.item),
        {"assignee": None if assignee is None else str(assignee.pk), "version": shared.item.version},
    )


class TestAssigningInAWorkspace:
    @pytest.mark.parametrize("assignee", ["owner", "admin", "editor", "viewer"])
    def test_an_editor_assigns_any_member(self, shared: Shared, assignee: str) -> None:
        response = _assign(shared, "editor", shared.team.users[assignee])
        assert response.status_code == 200, response.content
        assert response.json()["assignee"] == str(shared.team.users[assignee].pk)

    @pytest.mark.parametrize("assignee", ["outsider", "former"])
    def test_someone_who_cannot_see_the_item_cannot_be_assigned(self, shared: Shared, assignee: str) -> None:
        before = snapshot()
        response = _assign(shared, "editor", shared.team.users[assignee])
        assert response.status_code == 400
        assert "assignee" in response.json()["errors"]
        assert snapshot() == before

    def test_a_viewer_cannot_assign_even_themself(self, shared: Shared) -> None:
        before = snapshot()
        response = _assign(shared, "viewer", shared.team.users["viewer"])
        assert response.status_code == 403
        assert snapshot() == before

    @pytest.mark.parametrize("who", PEOPLE)
    def test_the_assignee_filter_shows_a_member_their_items(self, shared: Shared, who: str) -> None:
        _assign(shared, "editor", shared.team.users["viewer"])
        found = shared.team.client(who).get("/api/v1/items?assignee=me").json()["results"]
        assert [row["id"] for row in found] == ([str(shared.item.pk)] if who == "viewer" else [])

    def test_a_list_moved_to_personal_unassigns_the_others(self, shared: Shared) -> None:
        _assign(shared, "editor", shared.team.users["viewer"])
        list_update(
            user=shared.team.users["editor"],
            list_id=shared.list.pk,
            base=BaseVersion(version=1),
            data={"workspace": None},
        )
        shared.item.refresh_from_db()
        assert shared.item.assignee_id is None
        assert ChangeRecord.objects.filter(entity_id=shared.item.pk).order_by("-id")[0].fields == ["assignee"]

    def test_an_item_moved_away_keeps_an_assignee_who_sees_the_new_space(self, shared: Shared) -> None:
        editor = shared.team.users["editor"]
        _assign(shared, "editor", editor)
        own = ListFactory.create(user=editor)
        shared.item.refresh_from_db()
        item_update(
            user=editor,
            item_id=shared.item.pk,
            base=BaseVersion(version=shared.item.version),
            data={"list": own.pk},
        )
        shared.item.refresh_from_db()
        assert (shared.item.space_id, shared.item.assignee_id) == (own.space_id, editor.pk)


class TestDeparture:
    @pytest.mark.parametrize("how", ["removed", "left"])
    def test_a_departing_members_items_there_become_unassigned(self, shared: Shared, how: str) -> None:
        viewer = shared.team.users["viewer"]
        _assign(shared, "editor", viewer)
        kept = ItemFactory.create(list=shared.list, user=shared.team.users["editor"])
        item_update(
            user=shared.team.users["editor"],
            item_id=kept.pk,
            base=BaseVersion(version=1),
            data={"assignee": shared.team.users["admin"].pk},
        )
        own = ItemFactory.create(list=ListFactory.create(user=viewer), user=viewer, assignee=viewer.pk)

        if how == "removed":
            member_remove(
                user=shared.team.users["admin"],
                workspace_id=shared.team.workspace.pk,
                member_user_id=viewer.pk,
            )
        else:
            member_leave(user=viewer, workspace_id=shared.team.workspace.pk)

        assignees = dict(Item.objects.values_list("pk", "assignee_id"))
        assert assignees[shared.item.pk] is None
        assert assignees[kept.pk] == shared.team.users["admin"].pk
        assert assignees[own.pk] == viewer.pk
        record = ChangeRecord.objects.filter(entity_id=shared.item.pk).order_by("-id")[0]
        assert (record.fields, record.space_id) == (["assignee"], shared.space_id)

    def test_a_departing_members_cards_lose_the_workspaces_items_only(self, shared: Shared) -> None:
        viewer = shared.team.users["viewer"]
        own = ItemFactory.create(list=ListFactory.create(user=viewer), user=viewer)
        card = FocusCardFactory.create(user=viewer, items=[shared.item, own])
        other = FocusCardFactory.create(user=shared.team.users["editor"], items=[shared.item])

        member_leave(user=viewer, workspace_id=shared.team.workspace.pk)

        card.refresh_from_db()
        assert (card_item_ids(card), card.version) == ([own.pk], 2)
        record = ChangeRecord.objects.filter(entity_id=card.pk).order_by("-id")[0]
        assert (record.fields, record.space_id) == (["items"], card.space_id)
        assert card_item_ids(other) == [shared.item.pk]

    def test_a_deleted_workspace_leaves_no_entry_on_any_card(self, shared: Shared) -> None:
        cards = [
            FocusCardFactory.create(user=shared.team.users[who], items=[shared.item])
            for who in ("viewer", "owner")
        ]
        workspace_delete(
            user=shared.team.users["owner"],
            workspace_id=shared.team.workspace.pk,
            base=BaseVersion(version=1),
        )
        for card in cards:
            card.refresh_from_db()
            assert (card_item_ids(card), card.version) == ([], 2)


class TestCardsOfOthers:
    def test_an_item_deleted_by_another_member_leaves_every_card(self, shared: Shared) -> None:
        card = FocusCardFactory.create(user=shared.team.users["viewer"], items=[shared.item])
        item_delete(user=shared.team.users["editor"], item_id=shared.item.pk, base=BaseVersion(version=1))
        card.refresh_from_db()
        assert (card_item_ids(card), card.version) == ([], 2)

    def test_a_list_moved_to_someones_personal_space_leaves_the_others_cards(self, shared: Shared) -> None:
        editor = shared.team.users["editor"]
        theirs = FocusCardFactory.create(user=shared.team.users["viewer"], items=[shared.item])
        mine = FocusCardFactory.create(user=editor, items=[shared.item])
        list_update(
            user=editor, list_id=shared.list.pk, base=BaseVersion(version=1), data={"workspace": None}
        )
        theirs.refresh_from_db()
        mine.refresh_from_db()
        assert (card_item_ids(theirs), theirs.version) == ([], 2)
        assert (card_item_ids(mine), mine.version) == ([shared.item.pk], 1)

    def test_generation_picks_workspace_items_assigned_to_the_user_only(self, shared: Shared) -> None:
        viewer = shared.team.users["viewer"]
        ItemFactory.create(list=shared.list, user=shared.team.users["editor"], title="Not mine")
        _assign(shared, "editor", viewer)
        response = shared.team.client("viewer").post("/api/v1/focus-card/generate", {"date": "2026-03-02"})
        assert response.status_code == 201, response.content
        assert [entry["item"] for entry in response.json()["items"]] == [str(shared.item.pk)]
        assert FocusCard.objects.filter(user=viewer).count() == 1


class TestAntiTodoLinks:
    def test_a_workspace_item_deleted_by_another_member_unlinks_every_entry(self, shared: Shared) -> None:
        from antitodo.models import AntiTodoEntry
        from tests.factories import AntiTodoEntryFactory

        entry = AntiTodoEntryFactory.create(user=shared.team.users["viewer"], item=shared.item)
        item_delete(user=shared.team.users["editor"], item_id=shared.item.pk, base=BaseVersion(version=1))
        entry = AntiTodoEntry.objects.get(pk=entry.pk)
        assert (entry.item_id, entry.version) == (None, 2)
        record = ChangeRecord.objects.filter(entity_id=entry.pk).order_by("-id")[0]
        assert (record.fields, record.space_id) == (["item"], entry.space_id)
