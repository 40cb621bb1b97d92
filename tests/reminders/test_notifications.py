"""Notifications the server makes from other apps' changes (learned from change records, written once the
change commits): an invitation, an assignment by someone else, a removal from a workspace."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from core.versioning import BaseVersion
from lists.services import item_create, item_update
from reminders.models import Notification
from tests.factories import ItemFactory, ListFactory, MemberFactory, UserFactory, WorkspaceFactory
from workspaces.services import invitation_create, member_leave, member_remove, workspace_delete

pytestmark = pytest.mark.django_db


def _kinds(user: User) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("created_at").values_list("kind", flat=True))


def test_an_invitation_to_an_account_notifies_it(user: User, django_capture_on_commit_callbacks: Any) -> None:
    workspace = WorkspaceFactory.create(name="Garden")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(
            user=workspace.user, workspace_id=workspace.pk, email=user.email, role="editor"
        )
    [notification] = Notification.objects.filter(user=user)
    assert notification.kind == "invitation"
    assert notification.data == {
        "invitation": str(invitation.pk),
        "workspace": str(workspace.pk),
        "workspace_name": "Garden",
        "role": "editor",
        "invited_by": str(workspace.user.pk),
        "invited_by_name": workspace.user.display_name,
    }
    assert not Notification.objects.filter(user=workspace.user).exists()


def test_an_invitation_made_before_the_account_notifies_it_on_registration(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    workspace = WorkspaceFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            user=workspace.user, workspace_id=workspace.pk, email="later@example.com", role="viewer"
        )
        later = UserFactory.create(email="later@example.com")
    assert _kinds(later) == ["invitation"]


def test_nothing_is_made_when_the_change_rolls_back(
    user: User, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import transaction

    workspace = WorkspaceFactory.create()

    def invite_then_fail() -> None:
        with transaction.atomic():
            invitation_create(user=workspace.user, workspace_id=workspace.pk, email=user.email, role="viewer")
            raise RuntimeError

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        invite_then_fail()
    assert not Notification.objects.exists()


class TestAssignment:
    def _workspace(self) -> tuple[Any, User, User, Any]:
        workspace = WorkspaceFactory.create()
        alice = MemberFactory.create(workspace=workspace, role="editor").user
        bob = MemberFactory.create(workspace=workspace, role="editor").user
        shared = ListFactory.create(user=workspace.user, workspace=workspace.pk)
        return workspace, alice, bob, shared

    def test_an_item_assigned_by_someone_else_notifies_the_assignee(
        self, django_capture_on_commit_callbacks: Any
    ) -> None:
        workspace, alice, bob, shared = self._workspace()
        item = ItemFactory.create(list=shared, user=alice, title="Water the plants")
        with django_capture_on_commit_callbacks(execute=True):
            item_update(
                user=alice, item_id=item.pk, base=BaseVersion(item.version), data={"assignee": bob.pk}
            )
        [notification] = Notification.objects.filter(user=bob)
        assert notification.kind == "assigned"
        assert notification.data == {
            "item": str(item.pk),
            "title": "Water the plants",
            "list": str(shared.pk),
            "workspace": str(workspace.pk),
            "by": str(alice.pk),
            "by_name": alice.display_name,
        }
        assert not Notification.objects.filter(user=alice).exists()

    def test_made_with_an_assignee_counts_and_self_assignment_does_not(
        self, django_capture_on_commit_callbacks: Any
    ) -> None:
        _workspace, alice, bob, shared = self._workspace()
        with django_capture_on_commit_callbacks(execute=True):
            item_create(user=alice, data={"list": shared.pk, "title": "a", "assignee": bob.pk})
            item_create(user=alice, data={"list": shared.pk, "title": "b", "assignee": alice.pk})
        assert _kinds(bob) == ["assigned"]
        assert _kinds(alice) == []

    def test_other_changes_of_an_assigned_item_do_not_notify_again(
        self, django_capture_on_commit_callbacks: Any
    ) -> None:
        _workspace, alice, bob, shared = self._workspace()
        with django_capture_on_commit_callbacks(execute=True):
            item, _ = item_create(user=alice, data={"list": shared.pk, "title": "a", "assignee": bob.pk})
            item_update(user=alice, item_id=item.pk, base=BaseVersion(item.version), data={"title": "b"})
        assert _kinds(bob) == ["assigned"]

    def test_a_pushed_assignment_notifies_too(self, django_capture_on_commit_callbacks: Any) -> None:
        from tests.conftest import client_for
        from tests.sync.helpers import op, push

        _workspace, alice, bob, shared = self._workspace()
        item = ItemFactory.create(list=shared, user=alice)
        with django_capture_on_commit_callbacks(execute=True):
            response = push(
                client_for(alice), [op("update", "item", item.pk, item.version, assignee=str(bob.pk))]
            )
        assert response.json()["results"][0]["status"] == "applied"
        assert _kinds(bob) == ["assigned"]


class TestRemoval:
    def test_a_removed_member_is_told_and_one_who_leaves_is_not(
        self, django_capture_on_commit_callbacks: Any
    ) -> None:
        workspace = WorkspaceFactory.create(name="Band")
        removed = MemberFactory.create(workspace=workspace, role="viewer").user
        leaving = MemberFactory.create(workspace=workspace, role="viewer").user
        with django_capture_on_commit_callbacks(execute=True):
            member_remove(user=workspace.user, workspace_id=workspace.pk, member_user_id=removed.pk)
            member_leave(user=leaving, workspace_id=workspace.pk)
        [notification] = Notification.objects.filter(user=removed, kind="workspace_removed")
        assert notification.data == {
            "workspace": str(workspace.pk),
            "workspace_name": "Band",
            "by": str(workspace.user.pk),
            "by_name": workspace.user.display_name,
        }
        assert not Notification.objects.filter(user=leaving, kind="workspace_removed").exists()

    def test_through_the_api(self, django_capture_on_commit_callbacks: Any) -> None:
        from tests.conftest import client_for

        workspace = WorkspaceFactory.create()
        removed = MemberFactory.create(workspace=workspace, role="editor").user
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(workspace.user).delete(
                f"/api/v1/workspaces/{workspace.pk}/members/{removed.pk}"
            )
        assert response.status_code == 204
        listed = client_for(removed).get("/api/v1/notifications?unread=true").json()["results"]
        assert [n["kind"] for n in listed] == ["workspace_removed"]  # the invitation was before the capture

    def test_the_members_of_a_deleted_workspace_are_told_and_its_owner_is_not(
        self, django_capture_on_commit_callbacks: Any
    ) -> None:
        workspace = WorkspaceFactory.create(name="Band")
        owner = workspace.user
        members = [MemberFactory.create(workspace=workspace, role=role).user for role in ("admin", "viewer")]
        with django_capture_on_commit_callbacks(execute=True):
            workspace_delete(user=owner, workspace_id=workspace.pk, base=BaseVersion(workspace.version))
        for member in members:
            [notification] = Notification.objects.filter(user=member, kind="workspace_removed")
            assert notification.data == {
                "workspace": str(workspace.pk),
                "workspace_name": "Band",
                "by": str(owner.pk),
                "by_name": owner.display_name,
                "deleted": True,
            }
        assert not Notification.objects.filter(user=owner).exists()

    def test_a_deleted_workspace_notifies_through_the_api_and_sync(
        self, django_capture_on_commit_callbacks: Any
    ) -> None:
        from tests.conftest import client_for

        workspace = WorkspaceFactory.create()
        member = MemberFactory.create(workspace=workspace, role="editor").user
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(workspace.user).delete(
                f"/api/v1/workspaces/{workspace.pk}?version={workspace.version}"
            )
        assert response.status_code == 204, response.content
        listed = client_for(member).get("/api/v1/notifications").json()["results"]
        assert [(n["kind"], n["data"]["deleted"]) for n in listed] == [("workspace_removed", True)]
        changes = client_for(member).get("/api/v1/sync").json()["changes"]
        assert [c["data"]["id"] for c in changes if c["type"] == "notification"] == [listed[0]["id"]]
