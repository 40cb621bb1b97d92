"""`GET items?list=` filters without building the FilterSet; every answer is the one ItemFilter gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.conftest import client_for
from tests.factories import ItemFactory, ListFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_lists(user: User) -> tuple[Any, Any]:
    first, second = ListFactory.create(user=user), ListFactory.create(user=user)
    for n in range(3):
        ItemFactory.create(list=first, position=n)
    ItemFactory.create(list=second, status="done", completed_at=datetime(2026, 1, 1, tzinfo=UTC))
    return first, second


@pytest.mark.parametrize(
    "spelling", [str, lambda pk: str(pk).upper(), lambda pk: pk.hex, lambda pk: f"{{{pk}}}"]
)
def test_a_list_filter_returns_that_lists_items(
    user_client: APIClient, two_lists: tuple[Any, Any], spelling: Any
) -> None:
    first, _second = two_lists
    page = user_client.get("/api/v1/items", {"list": spelling(first.pk), "limit": 2}).json()
    assert [row["list"] for row in page["results"]] == [str(first.pk)] * 2
    rest = user_client.get(page["next"]).json()
    assert len(rest["results"]) == 1


def test_a_list_that_is_not_a_uuid_is_a_400_on_list(
    user_client: APIClient, two_lists: tuple[Any, Any]
) -> None:
    bad = user_client.get("/api/v1/items?list=not-a-uuid")

    assert bad.status_code == 400
    assert bad.json()["code"] == "validation_error"
    assert "list" in bad.json()["errors"]


def test_an_empty_list_filters_nothing(user_client: APIClient, two_lists: tuple[Any, Any]) -> None:
    assert len(user_client.get("/api/v1/items?list=").json()["results"]) == 4


def test_the_list_combines_with_the_other_filters(user_client: APIClient, two_lists: tuple[Any, Any]) -> None:
    _first, second = two_lists

    assert user_client.get(f"/api/v1/items?list={second.pk}&status=open").json()["results"] == []


def test_spaces_around_the_list_id_are_ignored(user_client: APIClient, two_lists: tuple[Any, Any]) -> None:
    first, _second = two_lists

    assert len(user_client.get(f"/api/v1/items?list=%20{first.pk}%20").json()["results"]) == 3


def test_another_users_list_gives_nothing(user_client: APIClient, other_user: User) -> None:
    theirs = ListFactory.create(user=other_user)
    ItemFactory.create(list=theirs)
    assert user_client.get(f"/api/v1/items?list={theirs.pk}").json()["results"] == []


@pytest.mark.parametrize("person", ["owner", "admin", "editor", "viewer", "outsider", "former"])
def test_a_workspace_lists_page_is_for_its_members_only(shared: Any, person: str) -> None:
    client = client_for(shared.team.users[person])

    results = client.get(f"/api/v1/items?list={shared.list.pk}").json()["results"]

    sees = person not in ("outsider", "former")
    assert [row["id"] for row in results] == ([str(shared.item.pk)] if sees else [])


@pytest.mark.parametrize("size", [5, 200])
@pytest.mark.parametrize("cursor", [False, True])
def test_a_page_of_one_list_is_one_query(
    user: User, size: int, cursor: bool, django_assert_num_queries: Any
) -> None:
    a_list = ListFactory.create(user=user)
    for n in range(size + 1):
        ItemFactory.create(list=a_list, position=n)
    client = client_for(user)
    first = client.get(f"/api/v1/items?list={a_list.pk}&limit={size}").json()  # the user row now cached
    path = first["next"] if cursor else f"/api/v1/items?list={a_list.pk}&limit={size}"

    # The user's spaces are checked inside the page's query (on the list's row).
    with django_assert_num_queries(1):
        response = client.get(path)
    assert len(response.json()["results"]) == (1 if cursor else size)


@pytest.mark.parametrize("ordering", ["", "position", "due_date", "priority", "created_at", "completed_at"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("limit", [3, 50])
def test_the_first_page_from_kept_sql_is_the_orms(
    user: User, ordering: str, descending: bool, limit: int
) -> None:
    """The first page of one list runs SQL compiled once per shape (core/compiled.py): for every ordering,
    direction and size it answers what the same page through ItemFilter and the ORM answers, and its
    `next` leads on to the same second page."""
    a_list = ListFactory.create(user=user)
    for n in range(7):
        done = n % 3 == 0
        ItemFactory.create(
            list=a_list,
            position=n % 2,
            priority=1 + n % 4,
            due_date=datetime(2026, 1, 1 + n % 2, tzinfo=UTC).date() if n % 2 else None,
            status="done" if done else "open",
            completed_at=datetime(2026, 1, 2, n, tzinfo=UTC) if done else None,
        )
    ListFactory.create(user=user)  # another list, not on the page
    client = client_for(user)
    order = f"&ordering={'-' if descending and ordering else ''}{ordering}" if ordering else ""

    fast = client.get(f"/api/v1/items?list={a_list.pk}&limit={limit}{order}").json()
    # The list named twice is not the fast path's: ItemFilter and the ORM.
    slow = client.get(f"/api/v1/items?list={a_list.pk}&list={a_list.pk}&limit={limit}{order}").json()

    assert fast["results"] == slow["results"]
    assert len(fast["results"]) == min(limit, 7)
    assert (fast["next"] is None) == (slow["next"] is None)
    if fast["next"]:
        assert client.get(fast["next"]).json()["results"] == client.get(slow["next"]).json()["results"]
