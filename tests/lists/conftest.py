"""A workspace with one member of each role, an outsider and a former member (tests/workspaces), with a
shared list holding one item, and what "nothing changed" compares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from lists.models import Item, List
from sync.models import ChangeRecord, Space
from tests.factories import ItemFactory, ListFactory
from tests.workspaces.conftest import PEOPLE, Team, team  # noqa: F401  (the fixture, shared)

MEMBERS = ("owner", "admin", "editor", "viewer")
EDITORS = ("owner", "admin", "editor")
STRANGERS = ("outsider", "former")
__all__ = ["EDITORS", "MEMBERS", "PEOPLE", "STRANGERS", "Shared", "Team", "snapshot"]


@dataclass
class Shared:
    team: Team
    list: List
    item: Item

    @property
    def space_id(self) -> int:
        return self.team.workspace.space_id

    def url(self, path: str, entity: Any = None) -> str:
        return f"/api/v1/{path}" + (f"/{entity.pk}" if entity is not None else "")


@pytest.fixture
def shared(team: Team) -> Shared:  # noqa: F811
    a_list = ListFactory.create(user=team.users["editor"], workspace=team.workspace.pk, name="Shared")
    item = ItemFactory.create(list=a_list, user=team.users["editor"], title="Shared item")
    return Shared(team, a_list, item)


def snapshot() -> tuple[Any, ...]:
    """Every list and item as stored, every change record and every counter: equal before and after a
    refused write means it changed nothing."""
    return (
        sorted(List.objects.values_list("pk", "space_id", "version", "name", "workspace_id")),
        sorted(Item.objects.values_list("pk", "space_id", "list_id", "version", "title", "assignee_id")),
        ChangeRecord.objects.count(),
        sorted(Space.objects.values_list("pk", "last_change_number")),
    )
