"""Membership writes at the same moment (PostgreSQL): each is decided under the workspace's lock, so a
workspace keeps one owner, an invitation works once, and a removal is seen by the write that follows it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concurrency import at_once
from tests.conftest import RACES, client_for
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory
from workspaces.models import Invitation, Member, Workspace
from workspaces.services import invitation_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), RACES]


def test_one_invitation_accepted_four_times_at_once_makes_one_member() -> None:
    workspace = WorkspaceFactory.create()
    invitee = UserFactory.create()
    invitation = invitation_create(
        user=workspace.user, workspace_id=workspace.pk, email=invitee.email, role="editor"
    )

    responses = at_once(
        4, lambda n: client_for(invitee).post(f"/api/v1/user/invitations/{invitation.pk}/accept")
    )

    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400]
    assert Member.objects.filter(workspace=workspace, user=invitee).count() == 1
    assert Invitation.objects.get(pk=invitation.pk).status == "accepted"


def test_two_handovers_at_once_leave_one_owner() -> None:
    workspace = WorkspaceFactory.create()
    first = MemberFactory.create(workspace=workspace, role="admin").user
    second = MemberFactory.create(workspace=workspace, role="admin").user
    owner = client_for(workspace.user)
    targets = [first, second]

    responses = at_once(
        2,
        lambda n: owner.patch(
            f"/api/v1/workspaces/{workspace.pk}/members/{targets[n].pk}", {"role": "owner"}, format="json"
        ),
    )

    assert sorted(r.status_code for r in responses) == [200, 403]
    assert Member.objects.filter(workspace=workspace, role="owner").count() == 1


def test_a_rename_racing_the_renamers_removal_lands_only_before_it() -> None:
    workspace = WorkspaceFactory.create(name="Before")
    admin = MemberFactory.create(workspace=workspace, role="admin").user
    owner_client, admin_client = client_for(workspace.user), client_for(admin)
    url = f"/api/v1/workspaces/{workspace.pk}"

    def act(n: int) -> Any:
        if n == 0:
            return owner_client.delete(f"{url}/members/{admin.pk}")
        return admin_client.patch(url, {"name": "After", "version": 1}, format="json")

    removal, rename = at_once(2, act)

    assert removal.status_code == 204
    assert rename.status_code in (200, 404)
    expected = "After" if rename.status_code == 200 else "Before"
    assert Workspace.objects.get(pk=workspace.pk).name == expected
    assert not Member.objects.filter(workspace=workspace, user=admin).exists()


def test_the_same_address_invited_twice_at_once_keeps_one_pending_invitation() -> None:
    workspace = WorkspaceFactory.create()
    admin = MemberFactory.create(workspace=workspace, role="admin").user
    clients = [client_for(workspace.user), client_for(admin)]
    url = f"/api/v1/workspaces/{workspace.pk}/invitations"

    responses = at_once(2, lambda n: clients[n].post(url, {"email": "twice@example.com", "role": "viewer"}))

    assert [r.status_code for r in responses] == [201, 201]
    invitations = Invitation.objects.filter(email="twice@example.com")
    assert sorted(invitations.values_list("status", flat=True)) == ["pending", "replaced"]
