"""Invitations: who may invite, the email and its token, accepting, declining, and every way an
invitation stops working (the same 400 for each)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.workspaces.conftest import PEOPLE, Team, problem_code
from workspaces.models import Invitation, Member

pytestmark = pytest.mark.django_db

MISSING = "5b0e6a52-8f6f-4d36-a3cb-0d5c3c8f1d11"


def invite(team: Team, email: str, role: str = "editor", who: str = "owner") -> Any:
    return team.client(who).post(team.url("/invitations"), {"email": email, "role": role}, format="json")


def pending() -> Any:
    """Invitations still open (the team's members came in by invitations of their own)."""
    return Invitation.objects.filter(status="pending")


def emailed_token() -> str:
    match = re.search(r"token=([A-Za-z0-9_\-]+)", str(mail.outbox[-1].body))
    assert match is not None, mail.outbox[-1].body
    return match.group(1)


INVITE = {"owner": 201, "admin": 201, "editor": 403, "viewer": 403, "outsider": 404, "former": 404}


class TestCreate:
    @pytest.mark.parametrize("who", PEOPLE)
    def test_inviting_needs_admin(self, team: Team, who: str) -> None:
        response = invite(team, "new@example.com", who=who)

        assert response.status_code == INVITE[who]
        assert pending().exists() == (INVITE[who] == 201)
        assert len(mail.outbox) == (1 if INVITE[who] == 201 else 0)

    def test_the_answer_and_the_email(self, team: Team, settings: Any) -> None:
        settings.INVITATION_ACCEPT_URL = "https://app.example.com/invitations/accept?token={token}"

        response = invite(team, "New.Person@Example.com", role="viewer")

        assert response.status_code == 201
        body = response.json()
        assert (body["email"], body["role"], body["status"]) == (
            "new.person@example.com",
            "viewer",
            "pending",
        )
        assert body["invited_by"] == str(team.users["owner"].pk)
        assert {"id", "expires_at", "created_at", "workspace"} <= set(body)
        assert "token" not in body
        assert "token_hash" not in body
        message = mail.outbox[0]
        assert message.to == ["new.person@example.com"]
        token = emailed_token()
        assert f"https://app.example.com/invitations/accept?token={token}" in message.body
        stored = pending().get()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(pending().values().get())
        expires = timezone.now() + timedelta(days=7)
        assert abs((stored.expires_at - expires).total_seconds()) < 60

    def test_an_unknown_and_a_known_address_are_answered_alike(self, team: Team) -> None:
        known = UserFactory.create()

        unknown_answer = invite(team, "nobody@example.com").json()
        known_answer = invite(team, known.email).json()

        assert set(unknown_answer) == set(known_answer)
        for key in ("id", "email", "expires_at", "created_at", "updated_at", "workspace_name"):
            unknown_answer.pop(key), known_answer.pop(key)
        assert unknown_answer == known_answer
        assert len(mail.outbox) == 2

    @pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
    def test_an_admin_invites_up_to_admin(self, team: Team, role: str) -> None:
        assert invite(team, "a@example.com", role=role, who="admin").status_code == 201

    @pytest.mark.parametrize("role", ["owner", "boss", "", None, 3])
    def test_owner_or_an_unknown_role_is_a_400(self, team: Team, role: Any) -> None:
        response = invite(team, "a@example.com", role=role)

        assert response.status_code == 400
        assert not pending().exists()

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"email": "not-an-email", "role": "editor"},
            {"email": "a@example.com"},
            {"email": 5, "role": "editor"},
            {"email": "a" * 250 + "@example.com", "role": "editor"},
            {"email": "a@example.com", "role": "editor", "workspace": MISSING},
            ["a@example.com"],
        ],
    )
    def test_bad_input_is_a_400_and_sends_nothing(self, team: Team, body: Any) -> None:
        response = team.client("owner").post(team.url("/invitations"), body, format="json")

        assert response.status_code == 400
        assert not pending().exists()
        assert mail.outbox == []

    def test_inviting_a_member_is_409_already_member(self, team: Team) -> None:
        response = invite(team, team.users["viewer"].email.upper())

        assert response.status_code == 409
        assert problem_code(response) == "already_member"
        assert not pending().exists()

    def test_inviting_again_replaces_the_pending_invitation(self, team: Team) -> None:
        invitee = UserFactory.create()
        first = invite(team, invitee.email, role="viewer").json()
        first_token = emailed_token()

        second = invite(team, invitee.email, role="editor").json()

        assert Invitation.objects.get(pk=first["id"]).status == "replaced"
        assert Invitation.objects.get(pk=second["id"]).status == "pending"
        response = client_for(invitee).post("/api/v1/invitations/accept", {"token": first_token})
        assert response.status_code == 400
        assert problem_code(response) == "invitation_invalid"
        assert [
            row["id"] for row in client_for(invitee).get("/api/v1/user/invitations").json()["results"]
        ] == [second["id"]]

    def test_an_inviter_sends_at_most_the_daily_limit(self, team: Team, settings: Any) -> None:
        before = Invitation.objects.count()  # the team's own invitations count too
        settings.WORKSPACE_INVITATIONS_PER_DAY = before + 3
        for n in range(3):
            assert invite(team, f"p{n}@example.com").status_code == 201

        response = invite(team, "one-more@example.com")

        assert response.status_code == 429
        assert problem_code(response) == "rate_limited"
        assert int(response["Retry-After"]) > 0
        assert Invitation.objects.count() == before + 3
        assert invite(team, "admin-may@example.com", who="admin").status_code == 201

    def test_an_invitation_is_audited(self, team: Team) -> None:
        invite(team, "a@example.com")

        event = AuditEvent.objects.get(
            event="workspace_invitation_created", metadata__invited_email="a@example.com"
        )
        assert event.user_id == team.users["owner"].pk
        assert event.metadata["invited_email"] == "a@example.com"


class TestListAndRevoke:
    @pytest.mark.parametrize("who", PEOPLE)
    def test_admins_list_the_pending_invitations(self, team: Team, who: str) -> None:
        invite(team, "a@example.com")

        response = team.client(who).get(team.url("/invitations"))

        assert response.status_code == {**INVITE, "owner": 200, "admin": 200}[who]
        if response.status_code == 200:
            assert [row["email"] for row in response.json()["results"]] == ["a@example.com"]

    def test_expired_and_answered_ones_are_not_listed(self, team: Team) -> None:
        invite(team, "old@example.com")
        Invitation.objects.filter(email="old@example.com").update(expires_at=timezone.now())
        invite(team, "a@example.com")

        rows = team.client("owner").get(team.url("/invitations")).json()["results"]

        assert [row["email"] for row in rows] == ["a@example.com"]

    @pytest.mark.parametrize("size", [2, 20])
    def test_the_page_costs_the_same_whatever_its_size(
        self, team: Team, size: int, django_assert_num_queries: Any
    ) -> None:
        for n in range(size):
            invite(team, f"p{n}@example.com")
        client = team.client("admin")
        # 1: the authenticated user (JWT), 2: the workspace, 3 and 4: the caller's role (sync.spaces: is it
        # their personal space, their membership), 5: the page of invitations.
        with django_assert_num_queries(5):
            response = client.get(team.url("/invitations?limit=200"))
        assert len(response.json()["results"]) == size

    @pytest.mark.parametrize("who", PEOPLE)
    def test_admins_revoke(self, team: Team, who: str) -> None:
        invitation_id = invite(team, "a@example.com").json()["id"]

        response = team.client(who).delete(team.url(f"/invitations/{invitation_id}"))

        assert response.status_code == {**INVITE, "owner": 204, "admin": 204}[who]
        expected = "revoked" if response.status_code == 204 else "pending"
        assert Invitation.objects.get(pk=invitation_id).status == expected

    def test_revoking_an_unknown_or_answered_invitation_is_404(self, team: Team) -> None:
        invitation_id = invite(team, "a@example.com").json()["id"]
        team.client("owner").delete(team.url(f"/invitations/{invitation_id}"))

        assert team.client("owner").delete(team.url(f"/invitations/{invitation_id}")).status_code == 404
        assert team.client("owner").delete(team.url(f"/invitations/{MISSING}")).status_code == 404

    def test_another_workspaces_invitation_cannot_be_revoked_from_here(self, team: Team) -> None:
        other = client_for(team.users["outsider"])
        workspace_id = other.post("/api/v1/workspaces", {"name": "Theirs"}).json()["id"]
        theirs = other.post(
            f"/api/v1/workspaces/{workspace_id}/invitations", {"email": "x@example.com", "role": "viewer"}
        ).json()["id"]

        assert team.client("owner").delete(team.url(f"/invitations/{theirs}")).status_code == 404
        assert Invitation.objects.get(pk=theirs).status == "pending"


class TestAccept:
    def test_accepting_by_token_makes_a_member_with_the_role(self, team: Team) -> None:
        invitee = UserFactory.create()
        invite(team, invitee.email, role="viewer")

        response = client_for(invitee).post("/api/v1/invitations/accept", {"token": emailed_token()})

        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["role"], body["member_count"]) == (str(team.workspace.pk), "viewer", 5)
        assert Member.objects.get(workspace=team.workspace, user=invitee).role == "viewer"
        assert Invitation.objects.get(email=invitee.email).status == "accepted"
        assert AuditEvent.objects.filter(event="workspace_member_joined", user=invitee).exists()
        assert client_for(invitee).get(team.url()).status_code == 200

    def test_accepting_by_id(self, team: Team) -> None:
        invitee = UserFactory.create()
        invitation_id = invite(team, invitee.email, role="editor").json()["id"]

        response = client_for(invitee).post(f"/api/v1/user/invitations/{invitation_id}/accept")

        assert response.status_code == 200
        assert response.json()["role"] == "editor"

    def test_an_invitation_to_an_address_that_registers_later_is_theirs(
        self, team: Team, api_client: APIClient
    ) -> None:
        invitation_id = invite(team, "later@example.com").json()["id"]

        api_client.post("/api/v1/auth/register", {"email": "Later@example.com", "password": DEFAULT_PASSWORD})
        newcomer = User.objects.get(email="later@example.com")

        rows = client_for(newcomer).get("/api/v1/user/invitations").json()["results"]
        assert [row["id"] for row in rows] == [invitation_id]
        assert Invitation.objects.get(pk=invitation_id).user_id == newcomer.pk
        assert (
            client_for(newcomer).post(f"/api/v1/user/invitations/{invitation_id}/accept").status_code == 200
        )

    def _invalid(
        self, client: APIClient, *, token: str | None = None, invitation_id: str | None = None
    ) -> Any:
        if token is not None:
            response = client.post("/api/v1/invitations/accept", {"token": token})
        else:
            response = client.post(f"/api/v1/user/invitations/{invitation_id}/accept")
        assert response.status_code == 400, response.content
        assert problem_code(response) == "invitation_invalid"
        return response.json()["detail"]

    def test_every_unusable_invitation_gets_the_same_answer(self, team: Team) -> None:
        invitee = UserFactory.create()
        client = client_for(invitee)
        details = set()

        details.add(self._invalid(client, token="made-up"))
        details.add(self._invalid(client, invitation_id=MISSING))

        invitation_id = invite(team, invitee.email).json()["id"]  # expired
        token = emailed_token()
        Invitation.objects.filter(pk=invitation_id).update(expires_at=timezone.now() - timedelta(seconds=1))
        details.add(self._invalid(client, token=token))
        details.add(self._invalid(client, invitation_id=invitation_id))

        invitation_id = invite(team, invitee.email).json()["id"]  # revoked
        token = emailed_token()
        team.client("owner").delete(team.url(f"/invitations/{invitation_id}"))
        details.add(self._invalid(client, token=token))

        invitation_id = invite(team, invitee.email).json()["id"]  # declined
        token = emailed_token()
        assert client.post(f"/api/v1/user/invitations/{invitation_id}/decline").status_code == 200
        details.add(self._invalid(client, token=token))
        details.add(self._invalid(client, invitation_id=invitation_id))

        invitation_id = invite(team, "someone.else@example.com").json()["id"]  # another account's
        token = emailed_token()
        details.add(self._invalid(client, token=token))
        details.add(self._invalid(client, invitation_id=invitation_id))

        assert len(details) == 1
        assert not Member.objects.filter(user=invitee).exists()

    def test_a_token_works_once(self, team: Team) -> None:
        invitee = UserFactory.create()
        invite(team, invitee.email)
        token = emailed_token()
        client = client_for(invitee)
        assert client.post("/api/v1/invitations/accept", {"token": token}).status_code == 200

        assert self._invalid(client, token=token)
        assert Member.objects.filter(user=invitee).count() == 1

    def test_a_removed_member_cannot_come_back_with_the_used_token(self, team: Team) -> None:
        invitee = UserFactory.create()
        invite(team, invitee.email)
        token = emailed_token()
        client_for(invitee).post("/api/v1/invitations/accept", {"token": token})
        team.client("owner").delete(team.url(f"/members/{invitee.pk}"))

        assert self._invalid(client_for(invitee), token=token)
        assert not Member.objects.filter(user=invitee).exists()

    @pytest.mark.parametrize(
        "body", [{}, {"token": ""}, {"token": 5}, {"token": "x" * 201}, {"token": "a", "b": 1}]
    )
    def test_bad_input_is_a_400(self, team: Team, body: Any) -> None:
        response = team.client("outsider").post("/api/v1/invitations/accept", body, format="json")

        assert response.status_code == 400

    def test_a_bad_id_in_the_path_is_404(self, team: Team) -> None:
        assert team.client("outsider").post("/api/v1/user/invitations/nope/accept").status_code == 404

    def test_accepting_needs_an_account(self, team: Team, api_client: APIClient) -> None:
        invite(team, "a@example.com")

        assert api_client.post("/api/v1/invitations/accept", {"token": emailed_token()}).status_code == 401


class TestUserInvitations:
    def test_only_the_callers_pending_invitations_are_listed(self, team: Team) -> None:
        invitee = UserFactory.create()
        mine = invite(team, invitee.email).json()["id"]
        invite(team, "other@example.com")

        rows = client_for(invitee).get("/api/v1/user/invitations").json()["results"]

        assert [row["id"] for row in rows] == [mine]
        assert rows[0]["workspace_name"] == "Team"
        assert rows[0]["invited_by_name"] == "Olive Owner"

    def test_someone_else_cannot_decline_it_and_a_second_decline_is_invalid(self, team: Team) -> None:
        invitee = UserFactory.create()
        invitation_id = invite(team, invitee.email).json()["id"]
        url = f"/api/v1/user/invitations/{invitation_id}/decline"

        theirs = team.client("outsider").post(url)
        first = client_for(invitee).post(url)
        again = client_for(invitee).post(url)

        assert (theirs.status_code, problem_code(theirs)) == (400, "invitation_invalid")
        assert first.status_code == 200
        assert (again.status_code, problem_code(again)) == (400, "invitation_invalid")

    @pytest.mark.parametrize("query", ["limit=0", "limit=-1", "cursor=%%%", "ordering=email"])
    def test_bad_parameters_are_a_400(self, team: Team, query: str) -> None:
        assert team.client("outsider").get(f"/api/v1/user/invitations?{query}").status_code == 400

    def test_declining_keeps_the_invitee_out(self, team: Team) -> None:
        invitee = UserFactory.create()
        invitation_id = invite(team, invitee.email).json()["id"]

        response = client_for(invitee).post(f"/api/v1/user/invitations/{invitation_id}/decline")

        assert response.status_code == 200
        assert response.json()["status"] == "declined"
        assert client_for(invitee).get("/api/v1/user/invitations").json()["results"] == []
        assert not Member.objects.filter(user=invitee).exists()

    @pytest.mark.parametrize("size", [2, 20])
    def test_the_page_costs_the_same_whatever_its_size(
        self, team: Team, size: int, settings: Any, django_assert_num_queries: Any
    ) -> None:
        invitee = UserFactory.create()
        client = client_for(invitee)
        for _ in range(size):
            other = client_for(UserFactory.create())
            workspace_id = other.post("/api/v1/workspaces", {"name": "W"}).json()["id"]
            other.post(
                f"/api/v1/workspaces/{workspace_id}/invitations", {"email": invitee.email, "role": "viewer"}
            )
        # 1: the authenticated user (JWT), 2: the page of invitations.
        with django_assert_num_queries(2):
            response = client.get("/api/v1/user/invitations?limit=200")
        assert len(response.json()["results"]) == size
