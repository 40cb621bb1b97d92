"""The lists and items pages cost the same number of queries with workspace data, whatever the number of
workspaces, lists and items, and with the `workspace` and `assignee` filters."""

from __future__ import annotations

from typing import Any

import pytest

from lists.models import Item
from tests.conftest import client_for
from tests.factories import ListFactory, MemberFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def _world(workspaces: int, per_list: int) -> tuple[Any, list[Any]]:
    reader = UserFactory.create()
    found = []
    for n in range(workspaces):
        workspace = WorkspaceFactory.create(name=f"W{n}")
        MemberFactory.create(workspace=workspace, user=reader, role="viewer")
        a_list = ListFactory.create(user=workspace.user, workspace=workspace.pk)
        Item.objects.bulk_create(
            [
                Item(user=workspace.user, space_id=a_list.space_id, list=a_list, title=f"t{i}", position=i)
                for i in range(per_list)
            ]
        )
        found.append(workspace)
    ListFactory.create(user=reader, name="Own")
    return reader, found


@pytest.mark.parametrize(("workspaces", "per_list"), [(1, 3), (5, 40)])
@pytest.mark.parametrize(
    "query",
    ["", "?workspace=personal", "?workspace={w}", "?assignee=me", "?assignee=me&workspace={w}"],
)
def test_the_pages_cost_the_same_with_workspace_data(
    django_assert_num_queries: Any, workspaces: int, per_list: int, query: str
) -> None:
    reader, found = _world(workspaces, per_list)
    client = client_for(reader)
    query = query.format(w=found[0].pk)
    assert client.get("/api/v1/lists").status_code == 200
    # The authenticated user comes from the cache (warm from the request above). 1: the spaces the user
    # sees, 2: the page (lists with open_count aggregated; items read as values).
    for path in ("lists", "items"):
        if path == "lists" and "assignee" in query:
            continue
        with django_assert_num_queries(2):
            response = client.get(f"/api/v1/{path}{query}{'&' if query else '?'}limit=200")
        assert response.status_code == 200, response.content
