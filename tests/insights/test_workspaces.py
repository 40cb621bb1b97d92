"""Insights count what the user did themself, in personal and workspace lists (docs/focus.md, Insights):
completions by `completed_by`, creations by `created_by`, overdue items that are theirs to do."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine

from accounts.models import User
from core.versioning import BaseVersion
from lists.models import Item
from lists.services import item_update
from tests.conftest import client_for
from tests.factories import ItemFactory, ListFactory, MemberFactory, UserFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/user/insights?from=2026-05-01&to=2026-05-20"
NOW = "2026-05-20T12:00:00Z"


def _complete(user: User, item: Item, day: int) -> None:
    item.refresh_from_db()
    item_update(
        user=user,
        item_id=item.pk,
        base=BaseVersion(version=item.version),
        data={"status": "done", "completed_at": datetime(2026, 5, day, 9, tzinfo=UTC)},
    )


@pytest.fixture
def pair(db: Any) -> tuple[User, User, Any]:
    with time_machine.travel(NOW, tick=False):
        owner = UserFactory.create()
        workspace = WorkspaceFactory.create(user=owner, name="Team")
        mate = MemberFactory.create(workspace=workspace, role="editor").user
    return owner, mate, workspace


def test_completions_count_for_whoever_completed_them(pair: Any) -> None:
    owner, mate, workspace = pair
    with time_machine.travel(NOW, tick=False):
        shared = ListFactory.create(user=owner, workspace=workspace.pk, name="Shared")
        mine = ItemFactory.create(list=shared, user=owner)
        theirs = ItemFactory.create(list=shared, user=owner)
        personal = ItemFactory.create(list=ListFactory.create(user=mate, name="Home"), user=mate)
        _complete(owner, mine, 3)
        _complete(mate, theirs, 4)
        _complete(mate, personal, 4)

        owners = client_for(owner).get(URL).json()
        mates = client_for(mate).get(URL).json()

    assert (owners["items"]["completed"], mates["items"]["completed"]) == (1, 2)
    assert [d["date"] for d in owners["items"]["completed_by_day"] if d["count"]] == ["2026-05-03"]
    assert {(row["name"], row["completed"]) for row in mates["top_lists"]} == {("Shared", 1), ("Home", 1)}
    # Created: the owner made both shared items, the mate their personal one.
    assert (owners["items"]["created"], mates["items"]["created"]) == (2, 1)
    assert mates["streak"]["longest"] == 1


def test_overdue_counts_personal_items_and_workspace_items_assigned_to_the_user(pair: Any) -> None:
    owner, mate, workspace = pair
    with time_machine.travel(NOW, tick=False):
        shared = ListFactory.create(user=owner, workspace=workspace.pk)
        ItemFactory.create(list=shared, user=owner, due_date=date(2026, 5, 1))
        ItemFactory.create(list=shared, user=owner, due_date=date(2026, 5, 1), assignee=mate.pk)
        ItemFactory.create(list=ListFactory.create(user=mate), user=mate, due_date=date(2026, 5, 2))

        assert client_for(mate).get(URL).json()["items"]["overdue_open"] == 2
        assert client_for(owner).get(URL).json()["items"]["overdue_open"] == 0


def test_a_workspace_left_no_longer_counts(pair: Any) -> None:
    from workspaces.services import member_leave

    owner, mate, workspace = pair
    with time_machine.travel(NOW, tick=False):
        item = ItemFactory.create(list=ListFactory.create(user=owner, workspace=workspace.pk), user=owner)
        _complete(mate, item, 5)
        assert client_for(mate).get(URL).json()["items"]["completed"] == 1
        member_leave(user=mate, workspace_id=workspace.pk)
        assert client_for(mate).get(URL).json()["items"]["completed"] == 0


def test_workspace_data_costs_no_more_queries(pair: Any, django_assert_num_queries: Any) -> None:
    owner, mate, _workspace = pair
    with time_machine.travel(NOW, tick=False):
        for n in range(3):
            other = WorkspaceFactory.create(user=owner, name=f"W{n}")
            MemberFactory.create(workspace=other, user=mate, role="editor")
            item = ItemFactory.create(list=ListFactory.create(user=owner, workspace=other.pk), user=owner)
            _complete(mate, item, 2 + n)
        client = client_for(mate)
        # 1 the token's user, 2 the counters of the user's spaces (the cache key), 3 the spaces the user
        # sees, 4 item counters, 5 completions by day, 6 anti-todo by day, 7 focus, 8 top lists.
        with django_assert_num_queries(8):
            assert client.get(URL).json()["items"]["completed"] == 3
