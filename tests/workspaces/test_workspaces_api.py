"""`workspaces` and `workspaces/{id}` over HTTP: create, list, read, rename, delete, and who may."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from lists.models import Item, List
from tests.conftest import client_for
from tests.factories import ListFactory, MemberFactory, UserFactory, WorkspaceFactory
from tests.workspaces.conftest import PEOPLE, Team, problem_code
from workspaces.models import Member, Workspace

pytestmark = pytest.mark.django_db

MISSING = "5b0e6a52-8f6f-4d36-a3cb-0d5c3c8f1d11"


class TestCreate:
    def test_the_creator_becomes_the_owner(self, user_client: APIClient, user: User) -> None:
        response = user_client.post("/api/v1/workspaces", {"name": "Family"})

        assert response.status_code == 201
        body = response.json()
        assert (body["name"], body["role"], body["member_count"], body["version"]) == (
            "Family",
            "owner",
            1,
            1,
        )
        assert response["ETag"] == '"1"'
        assert response["Location"].endswith(f"/api/v1/workspaces/{body['id']}")
        member = Member.objects.get(workspace_id=body["id"])
        assert (member.user_id, member.role) == (user.pk, "owner")

    def test_a_client_chosen_id_is_kept_and_a_retry_answers_200(self, user_client: APIClient) -> None:
        chosen = str(uuid.uuid4())
        first = user_client.post("/api/v1/workspaces", {"id": chosen, "name": "Offline"})
        again = user_client.post("/api/v1/workspaces", {"id": chosen, "name": "Offline"})

        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        assert Workspace.objects.count() == 1
        assert Member.objects.count() == 1

    def test_the_same_id_with_another_name_is_an_id_conflict(self, user_client: APIClient) -> None:
        chosen = str(uuid.uuid4())
        user_client.post("/api/v1/workspaces", {"id": chosen, "name": "Offline"})

        response = user_client.post("/api/v1/workspaces", {"id": chosen, "name": "Other"})

        assert response.status_code == 409
        assert problem_code(response) == "id_conflict"
        assert Workspace.objects.get().name == "Offline"

    def test_an_id_of_someone_elses_workspace_is_an_id_conflict(
        self, user_client: APIClient, other_user: User
    ) -> None:
        theirs = WorkspaceFactory.create(user=other_user, name="Secret")

        response = user_client.post("/api/v1/workspaces", {"id": str(theirs.pk), "name": "Secret"})

        assert response.status_code == 409
        assert Member.objects.filter(workspace=theirs).count() == 1

    def test_the_id_of_a_deleted_workspace_is_an_id_conflict(self, user_client: APIClient) -> None:
        chosen = str(uuid.uuid4())
        user_client.post("/api/v1/workspaces", {"id": chosen, "name": "Gone"})
        user_client.delete(f"/api/v1/workspaces/{chosen}?version=1")

        response = user_client.post("/api/v1/workspaces", {"id": chosen, "name": "Gone"})

        assert response.status_code == 409
        assert problem_code(response) == "id_conflict"

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"name": ""},
            {"name": "x" * 201},
            {"name": 7},
            {"name": None},
            {"name": "nul\x00byte"},
            {"name": "ok", "owner": "me"},
            {"name": "ok", "id": "not-a-uuid"},
            {"name": "ok", "id": 12},
            ["name"],
        ],
    )
    def test_bad_input_is_a_400_and_creates_nothing(self, user_client: APIClient, body: Any) -> None:
        response = user_client.post("/api/v1/workspaces", body, format="json")

        assert response.status_code == 400
        assert problem_code(response) in ("validation_error", "parse_error")
        assert not Workspace.objects.exists()

    def test_read_only_fields_sent_back_are_ignored(self, user_client: APIClient) -> None:
        response = user_client.post(
            "/api/v1/workspaces", {"name": "Echo", "role": "viewer", "member_count": 9, "version": 3}
        )

        assert response.status_code == 201
        assert (response.json()["role"], response.json()["member_count"]) == ("owner", 1)


class TestRead:
    def test_the_list_holds_the_callers_workspaces_with_role_and_count(self, team: Team) -> None:
        WorkspaceFactory.create(name="Not theirs")
        MemberFactory.create(user=team.users["viewer"], role="admin")  # another workspace of theirs

        page = team.client("viewer").get("/api/v1/workspaces").json()

        rows = {row["name"]: (row["role"], row["member_count"]) for row in page["results"]}
        assert rows[team.workspace.name] == ("viewer", 4)
        assert "Not theirs" not in rows
        assert len(rows) == 2

    @pytest.mark.parametrize("who", ["owner", "admin", "editor", "viewer"])
    def test_every_member_reads_the_workspace_with_their_own_role(self, team: Team, who: str) -> None:
        response = team.client(who).get(team.url())

        assert response.status_code == 200
        assert response.json()["role"] == who
        assert response["ETag"] == f'"{team.workspace.version}"'

    @pytest.mark.parametrize("who", ["outsider", "former"])
    def test_a_non_member_gets_404_as_for_a_missing_id(self, team: Team, who: str) -> None:
        response = team.client(who).get(team.url())
        missing = team.client(who).get(f"/api/v1/workspaces/{MISSING}")

        assert response.status_code == missing.status_code == 404
        assert response.json()["detail"] == missing.json()["detail"]
        assert team.workspace.name not in str(team.client(who).get("/api/v1/workspaces").json())

    @pytest.mark.parametrize("size", [3, 30])
    def test_the_list_costs_the_same_whatever_its_size(
        self, user: User, user_client: APIClient, size: int, django_assert_num_queries: Any
    ) -> None:
        for _ in range(size):
            workspace = WorkspaceFactory.create(user=user)
            MemberFactory.create(workspace=workspace, role="viewer")
        # 1: the authenticated user (JWT), 2: the spaces the caller sees (for_user), 3: the page with the
        # caller's role and each member count.
        with django_assert_num_queries(3):
            response = user_client.get(f"/api/v1/workspaces?limit={size}")
        assert [row["member_count"] for row in response.json()["results"]] == [2] * size

    def test_a_bad_limit_or_cursor_is_a_400(self, user_client: APIClient) -> None:
        assert user_client.get("/api/v1/workspaces?limit=0").status_code == 400
        assert user_client.get("/api/v1/workspaces?cursor=%%%").status_code == 400
        assert user_client.get("/api/v1/workspaces?ordering=role").status_code == 400


RENAME = {"owner": 200, "admin": 200, "editor": 403, "viewer": 403, "outsider": 404, "former": 404}


class TestRename:
    @pytest.mark.parametrize("who", PEOPLE)
    def test_renaming_needs_admin(self, team: Team, who: str) -> None:
        response = team.client(who).patch(team.url(), {"name": "Renamed", "version": 1}, format="json")

        assert response.status_code == RENAME[who]
        team.workspace.refresh_from_db()
        if RENAME[who] == 200:
            assert (team.workspace.name, team.workspace.version) == ("Renamed", 2)
            assert response.json()["role"] == who
        else:
            assert (team.workspace.name, team.workspace.version) == ("Team", 1)
            assert problem_code(response) == ("permission_denied" if RENAME[who] == 403 else "not_found")

    def test_no_version_is_428(self, team: Team) -> None:
        response = team.client("owner").patch(team.url(), {"name": "Renamed"}, format="json")

        assert response.status_code == 428
        team.workspace.refresh_from_db()
        assert team.workspace.name == "Team"

    def test_a_stale_if_match_is_412(self, team: Team) -> None:
        team.client("admin").patch(team.url(), {"name": "First", "version": 1}, format="json")

        response = team.client("owner").patch(
            team.url(), {"name": "Second"}, format="json", HTTP_IF_MATCH='"1"'
        )

        assert response.status_code == 412
        assert response.json()["current"]["name"] == "First"

    def test_two_renames_from_one_version_conflict(self, team: Team) -> None:
        team.client("admin").patch(team.url(), {"name": "First", "version": 1}, format="json")

        response = team.client("owner").patch(team.url(), {"name": "Second", "version": 1}, format="json")

        assert response.status_code == 409
        assert response.json()["conflicting_fields"] == ["name"]

    @pytest.mark.parametrize(
        "body", [{"name": "", "version": 1}, {"name": 3, "version": 1}, {"nom": "x", "version": 1}]
    )
    def test_bad_input_is_a_400(self, team: Team, body: dict[str, Any]) -> None:
        response = team.client("owner").patch(team.url(), body, format="json")

        assert response.status_code == 400
        team.workspace.refresh_from_db()
        assert team.workspace.version == 1

    def test_put_is_not_allowed(self, team: Team) -> None:
        response = team.client("owner").put(team.url(), {"name": "x", "version": 1}, format="json")

        assert response.status_code == 405


DELETE = {"owner": 204, "admin": 403, "editor": 403, "viewer": 403, "outsider": 404, "former": 404}


class TestDelete:
    @pytest.mark.parametrize("who", PEOPLE)
    def test_deleting_needs_the_owner(self, team: Team, who: str) -> None:
        response = team.client(who).delete(team.url() + "?version=1")

        assert response.status_code == DELETE[who]
        assert Workspace.objects.filter(pk=team.workspace.pk).exists() == (DELETE[who] != 204)

    def test_it_deletes_the_lists_items_and_members(self, team: Team) -> None:
        owner = team.users["owner"]
        # Built directly in the workspace's space (the lists app's own tests cover how they get there).
        shared = List.objects.create(user=owner, space_id=team.workspace.space_id, name="Shared")
        Item.objects.create(user=owner, space_id=team.workspace.space_id, list=shared, title="Shared item")
        personal = ListFactory.create(user=owner, name="Mine")

        response = team.client("owner").delete(team.url(), HTTP_IF_MATCH='"1"')

        assert response.status_code == 204
        assert not Member.objects.filter(workspace_id=team.workspace.pk).exists()
        assert list(List.objects.values_list("pk", flat=True)) == [personal.pk]
        assert not Item.objects.exists()
        assert team.client("editor").get(team.url()).status_code == 404

    def test_no_version_is_428_and_a_stale_one_409(self, team: Team) -> None:
        team.client("owner").patch(team.url(), {"name": "Renamed", "version": 1}, format="json")

        assert team.client("owner").delete(team.url()).status_code == 428
        assert team.client("owner").delete(team.url() + "?version=1").status_code == 409
        assert team.client("owner").delete(team.url() + "?version=x").status_code == 400
        assert Workspace.objects.filter(pk=team.workspace.pk).exists()

    def test_a_bad_query_version_beside_if_match_is_still_a_400(self, team: Team) -> None:
        response = team.client("owner").delete(team.url() + "?version=x", HTTP_IF_MATCH="*")

        assert response.status_code == 400
        assert Workspace.objects.filter(pk=team.workspace.pk).exists()

    def test_pending_invitations_to_it_are_gone(self, team: Team) -> None:
        invitee = UserFactory.create()
        team.client("owner").post(team.url("/invitations"), {"email": invitee.email, "role": "viewer"})

        team.client("owner").delete(team.url() + "?version=1")

        assert client_for(invitee).get("/api/v1/user/invitations").json()["results"] == []
