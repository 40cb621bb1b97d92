"""Workspaces in sync: the pushable `workspace` type, and what each person's feed holds of members and
invitations."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import client_for
from tests.factories import UserFactory
from tests.sync.helpers import op, pull, pull_all, push
from tests.workspaces.conftest import Team
from workspaces.models import Member, Workspace

pytestmark = pytest.mark.django_db


def _result(client: Any, operation: dict[str, Any]) -> dict[str, Any]:
    response = push(client, [operation])
    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    return dict(result)


def _of_type(changes: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [change for change in changes if change["type"] == type_]


class TestPush:
    def test_a_pushed_workspace_is_created_with_its_creator_as_owner(
        self, user_client: Any, user: Any
    ) -> None:
        entity_id = uuid.uuid4()

        result = _result(user_client, op("create", "workspace", entity_id, name="Offline"))

        assert result["status"] == "applied", result
        assert result["entity"]["role"] == "owner"
        assert Member.objects.get(workspace_id=entity_id).user_id == user.pk

    def test_an_admin_renames_by_push_and_a_viewer_may_not(self, team: Team) -> None:
        workspace_id = team.workspace.pk

        refused = _result(team.client("viewer"), op("update", "workspace", workspace_id, version=1, name="V"))
        applied = _result(team.client("admin"), op("update", "workspace", workspace_id, version=1, name="A"))

        assert (refused["status"], refused["error"]["code"]) == ("invalid", "permission_denied")
        assert applied["status"] == "applied"
        assert Workspace.objects.get(pk=workspace_id).name == "A"

    def test_a_non_member_gets_not_found(self, team: Team) -> None:
        result = _result(
            team.client("former"), op("update", "workspace", team.workspace.pk, version=1, name="Mine")
        )

        assert (result["status"], result["error"]["code"]) == ("invalid", "not_found")

    def test_only_the_owner_deletes_by_push(self, team: Team) -> None:
        refused = _result(team.client("admin"), op("delete", "workspace", team.workspace.pk, version=1))
        applied = _result(team.client("owner"), op("delete", "workspace", team.workspace.pk, version=1))

        assert (refused["status"], refused["error"]["code"]) == ("invalid", "permission_denied")
        assert applied["status"] == "applied"
        assert not Workspace.objects.filter(pk=team.workspace.pk).exists()

    @pytest.mark.parametrize("type_", ["member", "invitation"])
    def test_members_and_invitations_are_not_pushable(self, team: Team, type_: str) -> None:
        result = _result(team.client("owner"), op("create", type_, uuid.uuid4(), role="admin"))

        assert result["status"] == "invalid"


class TestFeed:
    def test_a_member_pulls_the_workspace_and_its_members(self, team: Team) -> None:
        _cursor, changes = pull_all(team.client("viewer"))

        [workspace] = _of_type(changes, "workspace")
        assert workspace["data"]["name"] == "Team"
        assert "role" not in workspace["data"]
        members = {change["data"]["email"]: change["data"] for change in _of_type(changes, "member")}
        owner = team.users["owner"]
        assert set(members) == {team.users[who].email for who in ("owner", "admin", "editor", "viewer")}
        assert members[owner.email]["role"] == "owner"
        assert members[owner.email]["display_name"] == "Olive Owner"
        assert members[owner.email]["workspace"] == str(team.workspace.pk)
        assert members[owner.email]["user"] == str(owner.pk)

    def test_an_outsider_pulls_nothing_of_it(self, team: Team) -> None:
        _cursor, changes = pull_all(team.client("outsider"))

        assert not [c for c in changes if c["type"] in ("workspace", "member")]

    def test_an_invitation_reaches_the_invitee_and_no_member(self, team: Team) -> None:
        invitee = UserFactory.create()
        invitation_id = (
            team.client("owner")
            .post(team.url("/invitations"), {"email": invitee.email, "role": "viewer"})
            .json()["id"]
        )

        _cursor, theirs = pull_all(client_for(invitee))
        _cursor, owners = pull_all(team.client("owner"))

        [invitation] = _of_type(theirs, "invitation")
        assert invitation["id"] == invitation_id
        assert invitation["data"]["status"] == "pending"
        assert "token_hash" not in invitation["data"]
        assert invitation_id not in str(owners)

    def test_a_removed_member_gets_the_workspace_tombstone(self, team: Team) -> None:
        client = team.client("editor")
        cursor = pull_all(client)[0]

        team.client("owner").delete(team.url(f"/members/{team.users['editor'].pk}"))

        changes = pull(client, cursor)["changes"]
        assert {"type": "workspace", "id": str(team.workspace.pk), "deleted": True} in changes
