"""Deleting an account that shares lists (docs/api/workspaces.md): an owned workspace goes to the
longest-standing admin, else editor, else viewer (audited); one with no one left is deleted; the
workspace's lists and items the account created stay, as the (new) owner's; its assignments end; the
people fields that named it become null."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AuditEvent, User
from focus.services import card_item_ids
from lists.models import Item, List
from sync.models import ChangeRecord
from tests.conftest import client_for
from tests.factories import (
    DEFAULT_PASSWORD,
    FocusCardFactory,
    ItemFactory,
    ListFactory,
    MemberFactory,
    UserFactory,
    WorkspaceFactory,
)
from workspaces.models import Member, Workspace

pytestmark = pytest.mark.django_db


def delete_account(user: User) -> None:
    response = client_for(user).delete("/api/v1/user", {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 204, response.content


@pytest.mark.parametrize(
    ("roles", "successor"),
    [
        (["viewer", "admin", "editor", "admin"], 1),  # the first admin to join
        (["viewer", "editor", "editor"], 1),  # no admin: the first editor
        (["viewer", "viewer"], 0),  # only viewers: the first viewer
    ],
)
def test_an_owned_workspace_goes_to_the_longest_standing_member_of_the_highest_role(
    roles: list[str], successor: int
) -> None:
    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    members = [MemberFactory.create(workspace=workspace, role=role).user for role in roles]

    delete_account(owner)

    assert Member.objects.get(workspace=workspace, role="owner").user_id == members[successor].pk
    assert AuditEvent.objects.filter(event="workspace_ownership_transferred").exists()


def test_the_accounts_shared_lists_and_items_stay_as_the_new_owners_and_its_assignments_end() -> None:
    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner, name="Team")
    admin = MemberFactory.create(workspace=workspace, role="admin").user
    viewer = MemberFactory.create(workspace=workspace, role="viewer").user
    shared = ListFactory.create(user=owner, workspace=workspace.pk, name="Shared")
    made = ItemFactory.create(list=shared, user=owner, assignee=owner.pk, status="done")
    theirs = ItemFactory.create(list=shared, user=admin, assignee=viewer.pk)
    card = FocusCardFactory.create(user=viewer, items=[made, theirs])
    ListFactory.create(user=owner, name="Personal")

    delete_account(owner)

    shared.refresh_from_db()
    made.refresh_from_db()
    theirs.refresh_from_db()
    assert (shared.user_id, made.user_id, theirs.user_id) == (admin.pk, admin.pk, admin.pk)
    assert (made.assignee_id, made.created_by_id, made.completed_by_id) == (None, None, None)
    assert theirs.assignee_id == viewer.pk
    assert list(List.objects.values_list("name", flat=True)) == ["Shared"]
    # The unassignment is a change the members pull.
    record = ChangeRecord.objects.filter(entity_id=made.pk, fields=["assignee"]).get()
    assert record.space_id == workspace.space_id
    # The other members' cards keep the workspace's items.
    assert card_item_ids(card) == [made.pk, theirs.pk]


def test_a_workspace_with_no_one_else_goes_with_the_account() -> None:
    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    ItemFactory.create(list=ListFactory.create(user=owner, workspace=workspace.pk), user=owner)

    delete_account(owner)

    assert not Workspace.objects.filter(pk=workspace.pk).exists()
    assert (List.objects.count(), Item.objects.count()) == (0, 0)


def test_a_member_account_leaves_its_work_to_the_owner_and_is_unassigned() -> None:
    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    editor = MemberFactory.create(workspace=workspace, role="editor").user
    shared = ListFactory.create(user=editor, workspace=workspace.pk)
    item = ItemFactory.create(list=shared, user=editor, assignee=editor.pk)

    delete_account(editor)

    item.refresh_from_db()
    shared.refresh_from_db()
    assert (shared.user_id, item.user_id, item.assignee_id, item.created_by_id) == (
        owner.pk,
        owner.pk,
        None,
        None,
    )
    assert Member.objects.filter(workspace=workspace).count() == 1


def test_nothing_points_at_the_deleted_account(db: Any) -> None:
    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    editor = MemberFactory.create(workspace=workspace, role="editor").user
    ItemFactory.create(
        list=ListFactory.create(user=editor, workspace=workspace.pk), user=editor, assignee=editor.pk
    )
    user_id = editor.pk

    delete_account(editor)

    people = Item.objects.filter(created_by=user_id) | Item.objects.filter(completed_by=user_id)
    assert not (people | Item.objects.filter(assignee=user_id) | Item.objects.filter(user=user_id)).exists()


@pytest.mark.parametrize("how", ["left", "removed"])
def test_what_a_former_member_created_in_a_workspace_outlives_their_account(how: str) -> None:
    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    former = MemberFactory.create(workspace=workspace, role="editor").user
    shared = ListFactory.create(user=former, workspace=workspace.pk, name="Made by a former member")
    item = ItemFactory.create(list=shared, user=former)
    added = ItemFactory.create(
        list=ListFactory.create(user=owner, workspace=workspace.pk), user=former, title="Added by them"
    )
    if how == "left":
        client_for(former).delete(f"/api/v1/workspaces/{workspace.pk}/members/{former.pk}")
    else:
        client_for(owner).delete(f"/api/v1/workspaces/{workspace.pk}/members/{former.pk}")
    assert not Member.objects.filter(user=former).exists()

    delete_account(former)

    # The workspace's lists and items stay, now the owner's; nothing vanished from it without a change.
    assert set(List.objects.filter(pk=shared.pk).values_list("user_id", flat=True)) == {owner.pk}
    assert set(Item.objects.filter(pk__in=[item.pk, added.pk]).values_list("user_id", flat=True)) == {
        owner.pk
    }


def test_a_workspace_its_creator_handed_over_and_left_outlives_their_account() -> None:
    creator = UserFactory.create()
    workspace = WorkspaceFactory.create(user=creator, name="Handed over")
    heir = MemberFactory.create(workspace=workspace, role="admin").user
    shared = ListFactory.create(user=creator, workspace=workspace.pk)
    client = client_for(creator)
    assert (
        client.patch(
            f"/api/v1/workspaces/{workspace.pk}/members/{heir.pk}", {"role": "owner"}, format="json"
        ).status_code
        == 200
    )
    assert client.delete(f"/api/v1/workspaces/{workspace.pk}/members/{creator.pk}").status_code == 204

    delete_account(creator)

    assert Workspace.objects.filter(pk=workspace.pk).exists()
    assert Member.objects.get(workspace=workspace).user_id == heir.pk
    assert List.objects.filter(pk=shared.pk).exists()


def test_the_people_fields_that_named_a_deleted_account_reach_the_other_members_replicas() -> None:
    """`created_by` and `completed_by` become null when the account goes: a change of each item, so an
    incremental replica equals the server's state, in the workspace and in a personal list an item moved
    to."""
    from core.versioning import BaseVersion
    from lists.services import item_update
    from tests.sync.helpers import apply_changes, pull_all, server_state

    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    editor = MemberFactory.create(workspace=workspace, role="editor").user
    shared = ListFactory.create(user=owner, workspace=workspace.pk)
    made = ItemFactory.create(list=shared, user=editor, status="done")
    moved = ItemFactory.create(list=shared, user=editor)
    item_update(
        user=owner,
        item_id=moved.pk,
        base=BaseVersion(version=1),
        data={"list": ListFactory.create(user=owner).pk},
    )
    client = client_for(owner)
    replica: dict[Any, Any] = {}
    cursor, changes = pull_all(client, 0)
    apply_changes(replica, changes)

    delete_account(editor)

    cursor, changes = pull_all(client, cursor)
    apply_changes(replica, changes)
    assert replica == server_state(owner)
    assert replica[("item", str(made.pk))]["completed_by"] is None
    assert replica[("item", str(moved.pk))]["created_by"] is None


def test_an_invitation_from_a_deleted_account_reaches_the_invitees_replica_without_it() -> None:
    """`invited_by` becomes null when the inviter's account goes: a change of the invitation the invitee
    pulls, so their replica equals the server's state."""
    from tests.sync.helpers import apply_changes, pull_all, server_state

    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    admin = MemberFactory.create(workspace=workspace, role="admin").user
    invitee = UserFactory.create()
    response = client_for(admin).post(
        f"/api/v1/workspaces/{workspace.pk}/invitations", {"email": invitee.email, "role": "viewer"}
    )
    assert response.status_code == 201, response.content
    client = client_for(invitee)
    replica: dict[Any, Any] = {}
    cursor, changes = pull_all(client, 0)
    apply_changes(replica, changes)

    delete_account(admin)

    cursor, changes = pull_all(client, cursor)
    apply_changes(replica, changes)
    assert replica == server_state(invitee)
    assert replica[("invitation", response.json()["id"])]["invited_by"] is None
