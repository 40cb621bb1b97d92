"""A member's `display_name` in the `member` sync type is their account's: renaming the account is a change
of each of their memberships, so every member's replica converges on the new name (docs/api/sync.md)."""

from __future__ import annotations

import pytest

from sync.models import ChangeRecord
from tests.sync.helpers import apply_changes, pull_all, server_state
from tests.workspaces.conftest import Team
from workspaces.models import Member

pytestmark = pytest.mark.django_db


def test_a_members_rename_reaches_the_other_members_replicas(team: Team) -> None:
    reader = team.client("editor")
    replica: dict[tuple[str, str], dict[str, object]] = {}
    cursor, changes = pull_all(reader, 0)
    apply_changes(replica, changes)

    response = team.client("viewer").patch(
        "/api/v1/user/profile", {"display_name": "Vera Renamed", "version": 1}, format="json"
    )
    assert response.status_code == 200, response.content

    cursor, changes = pull_all(reader, cursor)
    apply_changes(replica, changes)
    member = Member.objects.get(workspace=team.workspace, user=team.users["viewer"])
    assert replica[("member", str(member.pk))]["display_name"] == "Vera Renamed"
    assert replica == server_state(team.users["editor"])
    record = ChangeRecord.objects.filter(entity_id=member.pk).order_by("-id")[0]
    assert (record.fields, record.space_id) == (["display_name"], team.workspace.space_id)


def test_a_rename_without_memberships_writes_only_the_profile(team: Team) -> None:
    before = ChangeRecord.objects.exclude(space_id=team.workspace.space_id).count()
    response = team.client("outsider").patch(
        "/api/v1/user/profile", {"display_name": "Otto", "version": 1}, format="json"
    )
    assert response.status_code == 200, response.content
    assert ChangeRecord.objects.exclude(space_id=team.workspace.space_id).count() == before + 1


def test_a_staff_change_of_a_members_email_reaches_the_other_members_replicas(team: Team) -> None:
    from accounts.services.users import user_change
    from tests.factories import UserFactory

    reader = team.client("editor")
    replica: dict[tuple[str, str], dict[str, object]] = {}
    cursor, changes = pull_all(reader, 0)
    apply_changes(replica, changes)

    staff = UserFactory.create(is_staff=True)
    user_change(user=team.users["viewer"], by_staff=staff, data={"email": "vera.new@example.com"})

    cursor, changes = pull_all(reader, cursor)
    apply_changes(replica, changes)
    member = Member.objects.get(workspace=team.workspace, user=team.users["viewer"])
    assert replica[("member", str(member.pk))]["email"] == "vera.new@example.com"
    assert replica == server_state(team.users["editor"])
