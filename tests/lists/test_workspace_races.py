"""List and item writes in a workspace at the same moment as membership changes and as each other
(PostgreSQL): each is decided under the locks of the spaces it touches, so a move lands whole or not at
all, and a write by someone removed meanwhile is refused."""

from __future__ import annotations

from typing import Any

import pytest

from lists.models import Item, List
from tests.concurrency import at_once
from tests.conftest import RACES, client_for
from tests.factories import ItemFactory, ListFactory, MemberFactory, WorkspaceFactory
from workspaces.models import Member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), RACES]


def test_a_move_racing_the_movers_removal_is_whole_or_refused() -> None:
    workspace = WorkspaceFactory.create()
    editor = MemberFactory.create(workspace=workspace, role="editor").user
    shared = ListFactory.create(user=editor, workspace=workspace.pk)
    for _ in range(20):
        ItemFactory.create(list=shared, user=editor)
    owner_client, editor_client = client_for(workspace.user), client_for(editor)

    def act(n: int) -> Any:
        if n == 0:
            return owner_client.delete(f"/api/v1/workspaces/{workspace.pk}/members/{editor.pk}")
        return editor_client.patch(
            f"/api/v1/lists/{shared.pk}", {"workspace": None, "version": 1}, format="json"
        )

    removed, moved = at_once(2, act)

    assert removed.status_code == 204, removed.content
    assert moved.status_code in (200, 404), moved.content
    assert not Member.objects.filter(workspace=workspace, user=editor).exists()
    spaces = set(Item.objects.filter(list=shared).values_list("space_id", flat=True))
    assert spaces == {List.objects.get(pk=shared.pk).space_id}
    expected = editor.pk if moved.status_code == 200 else None
    assert List.objects.get(pk=shared.pk).space.user_id == expected


def test_two_moves_of_one_list_at_once_leave_it_and_its_items_in_one_space() -> None:
    workspace = WorkspaceFactory.create()
    other = WorkspaceFactory.create(user=workspace.user)
    shared = ListFactory.create(user=workspace.user, workspace=workspace.pk)
    for _ in range(20):
        ItemFactory.create(list=shared, user=workspace.user)
    client = client_for(workspace.user)
    targets = [str(other.pk), None]

    responses = at_once(
        2,
        lambda n: client.patch(
            f"/api/v1/lists/{shared.pk}", {"workspace": targets[n], "version": 1}, format="json"
        ),
    )

    assert sorted(r.status_code for r in responses) == [200, 409]
    a_list = List.objects.get(pk=shared.pk)
    assert set(Item.objects.filter(list=shared).values_list("space_id", flat=True)) == {a_list.space_id}
    assert a_list.version == 2
