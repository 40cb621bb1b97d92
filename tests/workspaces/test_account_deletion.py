"""Deleting an account ends its memberships as leaving would: an owned workspace is handed over (or
deleted when no one else is in it), and what the account created in a workspace stays there."""

from __future__ import annotations

import pytest

from accounts.models import User
from lists.models import List
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, MemberFactory, WorkspaceFactory
from tests.workspaces.conftest import Team
from workspaces.models import Member, Workspace

pytestmark = pytest.mark.django_db


def delete_account(user: User) -> None:
    response = client_for(user).delete("/api/v1/user", {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 204, response.content


def test_an_owned_workspace_goes_to_the_admin(team: Team) -> None:
    shared = List.objects.create(user=team.users["owner"], space_id=team.workspace.space_id, name="Shared")

    delete_account(team.users["owner"])

    roles = dict(Member.objects.filter(workspace=team.workspace).values_list("user_id", "role"))
    assert roles[team.users["admin"].pk] == "owner"
    assert list(roles.values()).count("owner") == 1
    shared.refresh_from_db()
    assert shared.user_id == team.users["admin"].pk
    assert Workspace.objects.get(pk=team.workspace.pk).user_id == team.users["admin"].pk


def test_without_an_admin_the_longest_standing_editor_takes_it(db: None) -> None:
    workspace = WorkspaceFactory.create()
    first = MemberFactory.create(workspace=workspace, role="editor").user
    MemberFactory.create(workspace=workspace, role="editor")
    MemberFactory.create(workspace=workspace, role="viewer")

    delete_account(workspace.user)

    assert Member.objects.get(workspace=workspace, role="owner").user_id == first.pk


def test_a_workspace_with_no_one_else_is_deleted(db: None) -> None:
    workspace = WorkspaceFactory.create()

    delete_account(workspace.user)

    assert not Workspace.objects.filter(pk=workspace.pk).exists()


def test_a_member_account_leaves_and_its_lists_stay(team: Team) -> None:
    shared = List.objects.create(user=team.users["editor"], space_id=team.workspace.space_id, name="Shared")

    delete_account(team.users["editor"])

    assert Member.objects.filter(workspace=team.workspace).count() == 3
    shared.refresh_from_db()
    assert shared.user_id == team.users["owner"].pk
