"""A workspace with one member of each role, an outsider and a former member, each with a client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import User
from tests.conftest import client_for
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory
from workspaces.models import Workspace
from workspaces.services import member_leave

# Everyone the role matrix asks: the four roles, someone who never belonged, someone who left.
PEOPLE = ("owner", "admin", "editor", "viewer", "outsider", "former")


@dataclass
class Team:
    workspace: Workspace
    users: dict[str, User]
    clients: dict[str, APIClient] = field(default_factory=dict)

    def client(self, who: str) -> APIClient:
        if who not in self.clients:
            self.clients[who] = client_for(self.users[who])
        return self.clients[who]

    def url(self, suffix: str = "") -> str:
        return f"/api/v1/workspaces/{self.workspace.pk}{suffix}"


@pytest.fixture
def team(db: Any) -> Team:
    owner = UserFactory.create(display_name="Olive Owner")
    workspace = WorkspaceFactory.create(user=owner, name="Team")
    users = {"owner": owner}
    for role in ("admin", "editor", "viewer"):
        users[role] = MemberFactory.create(workspace=workspace, role=role).user
    users["outsider"] = UserFactory.create()
    users["former"] = MemberFactory.create(workspace=workspace, role="editor").user
    member_leave(user=users["former"], workspace_id=workspace.pk)
    mail.outbox.clear()  # the members' own invitations
    return Team(workspace=workspace, users=users)


def problem_code(response: Any) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return str(response.json()["code"])
