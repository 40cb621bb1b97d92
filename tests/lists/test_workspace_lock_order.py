"""Writes take space locks in one global order (ascending space id) for the whole transaction, and never lock
a space the writer cannot see (docs/architecture.md, "The write path and the feed").

A write that locked a higher space id and then waits for a lower one can deadlock on PostgreSQL with any
writer that holds the lower one and waits for the higher (a member pushing to their personal space and the
workspace, an invitation to them): PostgreSQL then aborts one of the two. These tests watch which counters
each write locks, in which order, through `HeldSpaces.lock` (the one place space rows are locked).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from accounts.services.account_deletion import account_delete
from core.versioning import BaseVersion
from lists.models import List
from lists.services import item_delete, list_delete, list_update
from sync.services import HeldSpaces
from sync.spaces import personal_space_id
from tests.factories import (
    FocusCardFactory,
    ItemFactory,
    ListFactory,
    MemberFactory,
    UserFactory,
    WorkspaceFactory,
)
from tests.lists.conftest import Shared
from tests.portability.helpers import exported
from tests.sync.helpers import op, push
from tests.workspaces.conftest import Team
from workspaces.services import member_leave, member_remove, workspace_delete

pytestmark = pytest.mark.django_db


class Locks:
    """Each `HeldSpaces.lock` call that locked something: (what the transaction held, what it locked)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], list[int]]] = []

    def locked(self) -> set[int]:
        return {space for _, wanted in self.calls for space in wanted}

    def assert_in_order(self) -> None:
        late = [(held, wanted) for held, wanted in self.calls if held and min(wanted) < max(held)]
        assert not late, f"a lower space locked after a higher one (held, then locked): {late}"


@pytest.fixture
def locks(monkeypatch: pytest.MonkeyPatch) -> Locks:
    seen = Locks()
    original = HeldSpaces.lock

    def lock(self: HeldSpaces, space_ids: Any) -> None:
        space_ids = list(space_ids)
        wanted = sorted({space for space in space_ids if space not in self.states})
        if wanted:
            seen.calls.append((sorted(self.states), wanted))
        original(self, space_ids)

    monkeypatch.setattr(HeldSpaces, "lock", lock)
    return seen


class TestNoLockOfAnUnseenSpace:
    @pytest.mark.parametrize("who", ["outsider", "former"])
    def test_a_pushed_list_create_into_a_workspace_of_a_stranger(
        self, team: Team, locks: Locks, who: str
    ) -> None:
        operation = op("create", "list", uuid.uuid4(), name="Mine", workspace=str(team.workspace.pk))
        response = push(team.client(who), [operation])
        assert response.json()["results"][0]["error"]["code"] == "not_found"
        assert team.workspace.space_id not in locks.locked()

    @pytest.mark.parametrize("who", ["outsider", "former"])
    def test_a_stranger_moving_their_list_into_the_workspace(
        self, team: Team, locks: Locks, who: str
    ) -> None:
        own = ListFactory.create(user=team.users[who])
        response = team.client(who).patch(
            f"/api/v1/lists/{own.pk}", {"workspace": str(team.workspace.pk), "version": 1}
        )
        assert response.status_code == 404
        assert team.workspace.space_id not in locks.locked()

    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("patch", "", {"name": "Mine", "version": 1}),
            ("delete", "?version=1", None),
            ("post", "/invitations", {"email": "someone@example.com", "role": "viewer"}),
            ("patch", "/members/{owner}", {"role": "viewer"}),
            ("delete", "/members/{owner}", None),
        ],
    )
    @pytest.mark.parametrize("who", ["outsider", "former"])
    def test_a_strangers_workspace_writes(
        self, team: Team, locks: Locks, who: str, method: str, suffix: str, body: Any
    ) -> None:
        url = team.url(suffix.format(owner=team.users["owner"].pk))
        response = getattr(team.client(who), method)(url, body, format="json")
        assert response.status_code == 404, response.content
        assert team.workspace.space_id not in locks.locked()

    @pytest.mark.parametrize("who", ["outsider", "former"])
    def test_a_stranger_revoking_an_invitation(self, team: Team, locks: Locks, who: str) -> None:
        invited = UserFactory.create()
        invitation = team.client("owner").post(
            team.url("/invitations"), {"email": invited.email, "role": "viewer"}, format="json"
        )
        locks.calls.clear()
        response = team.client(who).delete(team.url(f"/invitations/{invitation.json()['id']}"))
        assert response.status_code == 404
        assert team.workspace.space_id not in locks.locked()
        assert personal_space_id(invited) not in locks.locked()


class TestOrder:
    def test_deleting_an_item_that_an_older_members_card_holds(self, shared: Shared, locks: Locks) -> None:
        owner = shared.team.users["owner"]  # made before the workspace: a lower space id
        assert personal_space_id(owner) < shared.space_id
        FocusCardFactory.create(user=owner, items=[shared.item])
        locks.calls.clear()
        item_delete(user=shared.team.users["editor"], item_id=shared.item.pk, base=BaseVersion(version=1))
        locks.assert_in_order()

    @pytest.mark.parametrize("what", ["item delete", "item move", "list delete", "list move"])
    def test_a_push_that_changes_an_older_members_card(self, shared: Shared, locks: Locks, what: str) -> None:
        FocusCardFactory.create(user=shared.team.users["owner"], items=[shared.item])
        own = ListFactory.create(user=shared.team.users["editor"])
        operation = {
            "item delete": op("delete", "item", shared.item.pk, 1),
            "item move": op("update", "item", shared.item.pk, 1, list=str(own.pk)),
            "list delete": op("delete", "list", shared.list.pk, 1),
            "list move": op("update", "list", shared.list.pk, 1, workspace=None),
        }[what]
        locks.calls.clear()
        response = push(shared.team.client("editor"), [operation])
        assert response.json()["results"][0]["status"] == "applied", response.content
        locks.assert_in_order()

    def test_deleting_an_item_an_older_members_anti_todo_entry_links(
        self, shared: Shared, locks: Locks
    ) -> None:
        from tests.factories import AntiTodoEntryFactory

        AntiTodoEntryFactory.create(user=shared.team.users["owner"], item=shared.item)
        locks.calls.clear()
        item_delete(user=shared.team.users["editor"], item_id=shared.item.pk, base=BaseVersion(version=1))
        locks.assert_in_order()

    def test_deleting_a_list_whose_item_an_older_members_card_holds(
        self, shared: Shared, locks: Locks
    ) -> None:
        FocusCardFactory.create(user=shared.team.users["owner"], items=[shared.item])
        locks.calls.clear()
        list_delete(user=shared.team.users["editor"], list_id=shared.list.pk, base=BaseVersion(version=1))
        locks.assert_in_order()

    def test_moving_a_list_away_from_an_older_members_card(self, shared: Shared, locks: Locks) -> None:
        FocusCardFactory.create(user=shared.team.users["owner"], items=[shared.item])
        locks.calls.clear()
        editor = shared.team.users["editor"]
        list_update(
            user=editor, list_id=shared.list.pk, base=BaseVersion(version=1), data={"workspace": None}
        )
        locks.assert_in_order()

    def test_deleting_the_workspace_with_its_members_cards(self, shared: Shared, locks: Locks) -> None:
        for who in ("owner", "viewer"):
            FocusCardFactory.create(user=shared.team.users[who], items=[shared.item])
        locks.calls.clear()
        workspace_delete(
            user=shared.team.users["owner"],
            workspace_id=shared.team.workspace.pk,
            base=BaseVersion(version=1),
        )
        locks.assert_in_order()

    @pytest.mark.parametrize("how", ["removed", "left"])
    def test_an_older_member_leaving_with_a_card(self, locks: Locks, how: str) -> None:
        early = UserFactory.create()  # an account older than the workspace: its personal space's id is lower
        owner = UserFactory.create()
        workspace = WorkspaceFactory.create(user=owner)
        MemberFactory.create(workspace=workspace, user=early, role="editor")
        assert personal_space_id(early) < workspace.space_id
        item = ItemFactory.create(list=ListFactory.create(user=owner, workspace=workspace.pk), user=owner)
        FocusCardFactory.create(user=early, items=[item])
        locks.calls.clear()
        if how == "removed":
            member_remove(user=owner, workspace_id=workspace.pk, member_user_id=early.pk)
        else:
            member_leave(user=early, workspace_id=workspace.pk)
        locks.assert_in_order()

    def test_deleting_an_account_that_joined_an_older_workspace(self, team: Team, locks: Locks) -> None:
        editor = team.users["editor"]
        assert personal_space_id(editor) > team.workspace.space_id
        editor.set_password("pw-for-the-test")
        editor.save()
        locks.calls.clear()
        account_delete(user=editor, password="pw-for-the-test")
        locks.assert_in_order()


def test_an_import_into_a_workspace_older_than_the_importer(shared: Shared, locks: Locks) -> None:
    editor = shared.team.users["editor"]
    assert personal_space_id(editor) > shared.space_id
    document = exported(shared.team.client("editor"))
    document["lists"] = [{**document["lists"][0], "id": str(uuid.uuid4()), "name": "Imported"}]
    document["items"] = []
    locks.calls.clear()
    response = shared.team.client("editor").post(
        "/api/v1/user/import", {"document": document, "mode": "merge"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert List.objects.get(name="Imported").space_id == shared.space_id
    locks.assert_in_order()


class TestCardsLockTheSpacesOfTheirItems:
    """A card write checks that its owner sees each item under the lock of the item's space, taken with the
    owner's personal space in id order: an item moved meanwhile out of the owner's sight (its list moved
    to someone's personal space) is then either refused here, or on the card before the move, which drops
    it. Checked without that lock, the card could keep an item its owner no longer sees, and show its live
    title."""

    def test_a_card_put_naming_an_item_of_an_older_workspace(self, shared: Shared, locks: Locks) -> None:
        viewer = shared.team.users["viewer"]
        assert personal_space_id(viewer) > shared.space_id
        response = shared.team.client("viewer").put(
            "/api/v1/focus-card?date=2026-03-01", {"items": [str(shared.item.pk)]}, format="json"
        )
        assert response.status_code == 201, response.content
        assert shared.space_id in locks.locked()
        locks.assert_in_order()

    def test_a_card_patch_and_a_pushed_card(self, shared: Shared, locks: Locks) -> None:
        client = shared.team.client("viewer")
        client.put("/api/v1/focus-card?date=2026-03-01", {"items": []}, format="json")
        locks.calls.clear()
        response = client.patch(
            "/api/v1/focus-card?date=2026-03-01",
            {"items": [str(shared.item.pk)], "version": 1},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert shared.space_id in locks.locked()
        locks.assert_in_order()
        locks.calls.clear()
        operation = op("create", "focus_card", uuid.uuid4(), date="2026-03-02", items=[str(shared.item.pk)])
        assert push(client, [operation]).json()["results"][0]["status"] == "applied"
        assert shared.space_id in locks.locked()
        locks.assert_in_order()
