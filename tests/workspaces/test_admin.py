"""Workspaces in the back office: pages to look at; staff remove a member only through the service,
audited with their name."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from accounts.models import AuditEvent, User
from tests.workspaces.conftest import Team
from workspaces.models import Activity, Invitation, Member, Workspace

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Workspace, Member, Invitation, Activity])
def test_every_page_is_read_only_for_superusers_too(staff: User, model: type) -> None:
    request = RequestFactory().get("/admin/")
    request.user = staff
    page = admin.site._registry[model]

    assert not page.has_add_permission(request)
    assert not page.has_change_permission(request)
    assert not page.has_delete_permission(request)


@pytest.mark.parametrize("name", ["workspace", "member", "invitation", "activity"])
def test_the_lists_and_a_detail_page_render(team: Team, staff_client: Client, name: str) -> None:
    page = staff_client.get(f"/admin/workspaces/{name}/")
    assert page.status_code == 200

    model = {"workspace": Workspace, "member": Member, "invitation": Invitation, "activity": Activity}[name]
    entity = model._default_manager.first()
    assert entity is not None
    assert staff_client.get(f"/admin/workspaces/{name}/{entity.pk}/change/").status_code == 200


def test_the_token_hash_is_not_shown(team: Team, staff_client: Client) -> None:
    invitation = Invitation.objects.first()
    assert invitation is not None

    page = staff_client.get(f"/admin/workspaces/invitation/{invitation.pk}/change/")

    assert invitation.token_hash not in page.content.decode()


def test_staff_remove_a_member_through_the_service_audited(
    team: Team, staff: User, staff_client: Client
) -> None:
    member = Member.objects.get(user=team.users["editor"])
    owner = Member.objects.get(user=team.users["owner"])

    response = staff_client.post(
        "/admin/workspaces/member/",
        {"action": "remove_members", "_selected_action": [str(member.pk), str(owner.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    assert not Member.objects.filter(pk=member.pk).exists()
    assert Member.objects.filter(pk=owner.pk).exists()  # an owner hands over first
    event = AuditEvent.objects.get(event="workspace_member_removed")
    assert event.user_id == staff.pk
    assert event.metadata["target_email"] == team.users["editor"].email
    assert event.metadata["by_staff"] is True
    assert team.client("editor").get(team.url()).status_code == 404
