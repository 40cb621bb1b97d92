"""`workspaces/{id}/members` and `workspaces/{id}/members/{user_id}`: roles, ownership, leaving."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import AuditEvent
from tests.factories import MemberFactory
from tests.workspaces.conftest import PEOPLE, Team, problem_code
from workspaces.models import Member

pytestmark = pytest.mark.django_db

MISSING = "5b0e6a52-8f6f-4d36-a3cb-0d5c3c8f1d11"


def roles(team: Team) -> dict[str, str]:
    return dict(Member.objects.filter(workspace=team.workspace).values_list("user__email", "role"))


class TestList:
    @pytest.mark.parametrize("who", PEOPLE)
    def test_any_member_lists_the_members_and_no_one_else(self, team: Team, who: str) -> None:
        response = team.client(who).get(team.url("/members"))

        if who in ("outsider", "former"):
            assert response.status_code == 404
            return
        assert response.status_code == 200
        rows = response.json()["results"]
        assert [row["role"] for row in rows] == ["owner", "admin", "editor", "viewer"]
        assert rows[0] == {
            "user": str(team.users["owner"].pk),
            "email": team.users["owner"].email,
            "display_name": "Olive Owner",
            "role": "owner",
            "joined_at": rows[0]["joined_at"],
        }

    @pytest.mark.parametrize("size", [2, 20])
    def test_the_page_costs_the_same_whatever_its_size(
        self, team: Team, size: int, django_assert_num_queries: Any
    ) -> None:
        for _ in range(size):
            MemberFactory.create(workspace=team.workspace, role="viewer")
        client = team.client("viewer")
        # 1: the authenticated user (JWT), 2: the workspace, 3 and 4: the caller's role (sync.spaces: is it
        # their personal space, their membership), 5: the page of members with their accounts.
        with django_assert_num_queries(5):
            response = client.get(team.url("/members?limit=200"))
        assert len(response.json()["results"]) == 4 + size

    def test_a_missing_workspace_is_404(self, team: Team) -> None:
        assert team.client("owner").get(f"/api/v1/workspaces/{MISSING}/members").status_code == 404


# Who may set whose role to what: (caller, target, new role) -> status.
CHANGES = [
    ("owner", "admin", "editor", 200),
    ("owner", "viewer", "admin", 200),
    ("admin", "editor", "admin", 200),
    ("admin", "viewer", "editor", 200),
    ("admin", "editor", "owner", 403),
    ("admin", "owner", "viewer", 403),
    ("editor", "viewer", "editor", 403),
    ("viewer", "editor", "viewer", 403),
    ("outsider", "viewer", "editor", 404),
    ("former", "viewer", "editor", 404),
]


class TestChangeRole:
    @pytest.mark.parametrize(("who", "target", "role", "expected"), CHANGES)
    def test_the_role_matrix(self, team: Team, who: str, target: str, role: str, expected: int) -> None:
        before = roles(team)
        url = team.url(f"/members/{team.users[target].pk}")

        response = team.client(who).patch(url, {"role": role}, format="json")

        assert response.status_code == expected
        if expected == 200:
            assert response.json()["role"] == role
            assert roles(team)[team.users[target].email] == role
        else:
            assert roles(team) == before

    def test_an_admin_cannot_change_another_admin(self, team: Team) -> None:
        other_admin = MemberFactory.create(workspace=team.workspace, role="admin").user

        response = team.client("admin").patch(team.url(f"/members/{other_admin.pk}"), {"role": "viewer"})

        assert response.status_code == 403
        assert problem_code(response) == "permission_denied"

    def test_owner_hands_ownership_over_and_becomes_admin(self, team: Team) -> None:
        response = team.client("owner").patch(
            team.url(f"/members/{team.users['editor'].pk}"), {"role": "owner"}, format="json"
        )

        assert response.status_code == 200
        current = roles(team)
        assert current[team.users["editor"].email] == "owner"
        assert current[team.users["owner"].email] == "admin"
        assert AuditEvent.objects.filter(event="workspace_ownership_transferred").count() == 1
        # The new owner may now delete; the old one may not.
        assert team.client("owner").delete(team.url() + "?version=1").status_code == 403

    def test_the_owner_cannot_demote_themself(self, team: Team) -> None:
        response = team.client("owner").patch(
            team.url(f"/members/{team.users['owner'].pk}"), {"role": "admin"}, format="json"
        )

        assert response.status_code == 409
        assert problem_code(response) == "last_owner"
        assert roles(team)[team.users["owner"].email] == "owner"

    def test_the_same_role_again_changes_nothing(self, team: Team) -> None:
        member = Member.objects.get(user=team.users["editor"])

        response = team.client("owner").patch(team.url(f"/members/{member.user_id}"), {"role": "editor"})

        assert response.status_code == 200
        member.refresh_from_db()
        assert member.version == 1

    def test_a_patch_without_a_role_changes_nothing(self, team: Team) -> None:
        url = team.url(f"/members/{team.users['viewer'].pk}")

        assert team.client("admin").patch(url, {}, format="json").json()["role"] == "viewer"
        assert team.client("editor").patch(url, {}, format="json").status_code == 403
        assert Member.objects.get(user=team.users["viewer"]).version == 1

    def test_a_role_change_is_audited(self, team: Team) -> None:
        team.client("admin").patch(team.url(f"/members/{team.users['viewer'].pk}"), {"role": "editor"})

        event = AuditEvent.objects.get(event="workspace_role_changed")
        assert (event.user_id, event.target_id) == (team.users["admin"].pk, str(team.workspace.pk))
        assert event.metadata["target_email"] == team.users["viewer"].email
        assert (event.metadata["old"], event.metadata["new"]) == ("viewer", "editor")

    @pytest.mark.parametrize(
        "body", [{"role": "boss"}, {"role": 1}, {"role": None}, {"role": "admin", "extra": 1}, ["admin"]]
    )
    def test_bad_input_is_a_400(self, team: Team, body: Any) -> None:
        before = roles(team)

        response = team.client("owner").patch(
            team.url(f"/members/{team.users['viewer'].pk}"), body, format="json"
        )

        assert response.status_code == 400
        assert roles(team) == before

    def test_someone_who_is_not_a_member_is_404(self, team: Team) -> None:
        url = team.url(f"/members/{team.users['outsider'].pk}")

        assert team.client("owner").patch(url, {"role": "admin"}).status_code == 404
        assert (
            team.client("owner").patch(team.url("/members/not-a-uuid"), {"role": "admin"}).status_code == 404
        )


REMOVALS = [
    ("owner", "admin", 204),
    ("owner", "viewer", 204),
    ("admin", "editor", 204),
    ("admin", "viewer", 204),
    ("admin", "owner", 409),
    ("owner", "owner", 409),
    ("editor", "viewer", 403),
    ("viewer", "editor", 403),
    ("outsider", "viewer", 404),
    ("former", "viewer", 404),
]


class TestRemove:
    @pytest.mark.parametrize(("who", "target", "expected"), REMOVALS)
    def test_the_removal_matrix(self, team: Team, who: str, target: str, expected: int) -> None:
        before = roles(team)

        response = team.client(who).delete(team.url(f"/members/{team.users[target].pk}"))

        assert response.status_code == expected
        if expected == 204:
            assert team.users[target].email not in roles(team)
        else:
            assert roles(team) == before

    def test_an_admin_cannot_remove_another_admin(self, team: Team) -> None:
        other_admin = MemberFactory.create(workspace=team.workspace, role="admin").user

        response = team.client("admin").delete(team.url(f"/members/{other_admin.pk}"))

        assert response.status_code == 403
        assert other_admin.email in roles(team)

    @pytest.mark.parametrize("who", ["admin", "editor", "viewer"])
    def test_a_member_leaves_by_removing_themself(self, team: Team, who: str) -> None:
        response = team.client(who).delete(team.url(f"/members/{team.users[who].pk}"))

        assert response.status_code == 204
        assert team.users[who].email not in roles(team)
        assert AuditEvent.objects.filter(event="workspace_member_left", user=team.users[who]).exists()

    def test_removal_cuts_access_at_once(self, team: Team) -> None:
        editor = team.client("editor")
        assert editor.get(team.url()).status_code == 200

        team.client("admin").delete(team.url(f"/members/{team.users['editor'].pk}"))

        assert editor.get(team.url()).status_code == 404
        assert editor.get(team.url("/members")).status_code == 404
        assert editor.get(team.url("/activity")).status_code == 404
        assert editor.patch(team.url(), {"name": "x", "version": 1}, format="json").status_code == 404
        assert AuditEvent.objects.filter(event="workspace_member_removed", user=team.users["admin"]).exists()

    def test_removing_someone_twice_is_404(self, team: Team) -> None:
        url = team.url(f"/members/{team.users['viewer'].pk}")
        team.client("owner").delete(url)

        assert team.client("owner").delete(url).status_code == 404
