"""Every allowed ordering pages forward and back without skipping or repeating a row (docs/api/README.md),
with ties and nulls in the ordered field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import ItemFactory, ListFactory

pytestmark = pytest.mark.django_db

ORDERINGS = ["position", "due_date", "priority", "created_at", "updated_at", "completed_at"]


@pytest.fixture
def item_ids(user: User) -> set[str]:
    a_list = ListFactory.create(user=user)
    done_at = datetime(2026, 1, 1, tzinfo=UTC)
    ids = set()
    for n in range(11):
        item = ItemFactory.create(
            list=a_list,
            position=n % 3,
            priority=1 + n % 2,
            due_date=None if n % 3 == 0 else "2026-02-01",
            status="done" if n % 2 else "open",
            completed_at=done_at if n % 2 else None,
        )
        ids.add(str(item.pk))
    return ids


def walk(user_client: APIClient, url: str | None, direction: str) -> list[list[str]]:
    pages = []
    while url:
        response = user_client.get(url)
        assert response.status_code == 200, response.content
        body: dict[str, Any] = response.json()
        pages.append([row["id"] for row in body["results"]])
        url = body[direction]
    return pages


@pytest.mark.parametrize("ordering", ORDERINGS + [f"-{name}" for name in ORDERINGS])
def test_pages_cover_every_row_once_both_ways(
    user_client: APIClient, item_ids: set[str], ordering: str
) -> None:
    everything = [
        row["id"] for row in user_client.get("/api/v1/items", {"ordering": ordering}).json()["results"]
    ]
    forward = walk(user_client, f"/api/v1/items?ordering={ordering}&limit=2", "next")
    assert [row for page in forward for row in page] == everything
    assert set(everything) == item_ids

    last_page_url = f"/api/v1/items?ordering={ordering}&limit=2"
    for _ in forward[:-1]:
        last_page_url = user_client.get(last_page_url).json()["next"]
    backward = walk(user_client, last_page_url, "previous")
    assert [row for page in reversed(backward) for row in page] == everything
