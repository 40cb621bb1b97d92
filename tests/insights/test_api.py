from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import User
from core.versioning import BaseVersion
from lists.services import item_update
from tests.conftest import client_for
from tests.factories import AntiTodoEntryFactory, FocusCardFactory, ItemFactory, ListFactory, UserFactory

URL = "/api/v1/user/insights"
NOW = "2026-05-20T12:00:00Z"


def _complete(user: User, item: Any, when: datetime) -> None:
    item_update(
        user=user,
        item_id=item.pk,
        base=BaseVersion(version=item.version),
        data={"status": "done", "completed_at": when},
    )


def _data(user: User, items: int) -> None:
    lists = [ListFactory.create(user=user, name=f"L{n}") for n in range(7)]
    for n in range(items):
        item = ItemFactory.create(list=lists[n % 7], due_date=date(2026, 5, 1) if n % 3 == 0 else None)
        if n % 2:
            _complete(user, item, datetime(2026, 5, 1 + n % 19, 9, tzinfo=UTC))
    for n in range(items // 2):
        AntiTodoEntryFactory.create(user=user, date=date(2026, 5, 1 + n % 19))
    FocusCardFactory.create(user=user, date=date(2026, 5, 2), items=list(user_items(user))[:3])


def user_items(user: User) -> Any:
    from lists.models import Item

    return Item.objects.filter(user=user).order_by("created_at", "id")


def test_the_default_range_is_the_last_30_days_ending_today(db: Any) -> None:
    user = UserFactory.create(timezone="Pacific/Auckland")
    with time_machine.travel("2026-05-20T13:00:00Z", tick=False):  # the 21st in Auckland
        body = client_for(user).get(URL).json()
    assert body["range"] == {"from": "2026-04-22", "to": "2026-05-21"}
    assert body["timezone"] == "Pacific/Auckland"
    assert len(body["items"]["completed_by_day"]) == 30
    assert body["items"]["completed_by_day"][0] == {"date": "2026-04-22", "count": 0}
    assert body["focus"] == {"cards": 0, "planned": 0, "done": 0, "completion_rate": 0.0}
    assert body["streak"] == {"current": 0, "longest": 0}
    assert body["top_lists"] == []


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-05-02&to=2026-05-01",
        "from=2025-01-01&to=2026-01-02",
        "from=2026-02-30&to=2026-03-01",
        "to=soon",
        "from=1800-01-01&to=1800-01-02",
        "from=9999-12-30&to=9999-12-31",
        "from=",
        "to=",
    ],
)
def test_bad_ranges_are_400(user_client: APIClient, query: str) -> None:
    response = user_client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_only_from_counts_back_nothing_from_to(user_client: APIClient) -> None:
    body = user_client.get(f"{URL}?from=2026-05-01&to=2026-05-01").json()
    assert body["range"] == {"from": "2026-05-01", "to": "2026-05-01"}
    assert len(body["anti_todo"]["by_day"]) == 1


def test_insights_require_authentication(api_client: APIClient, db: Any) -> None:
    assert api_client.get(URL).status_code == 401


def test_another_users_data_is_absent(db: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        busy, idle = UserFactory.create(), UserFactory.create()
        _data(busy, 10)
        body = client_for(idle).get(f"{URL}?from=2026-04-25&to=2026-05-20").json()
    assert body["items"]["created"] == 0
    assert body["items"]["completed"] == 0
    assert body["anti_todo"]["entries"] == 0
    assert body["focus"]["cards"] == 0
    assert body["top_lists"] == []


@pytest.mark.parametrize("items", [4, 40])
def test_a_fixed_number_of_queries_whatever_the_data(
    db: Any, django_assert_num_queries: Any, items: int
) -> None:
    with time_machine.travel(NOW, tick=False):
        user = UserFactory.create()
        _data(user, items)
        client = client_for(user)
        # 1 the token's user, 2 the counters of the user's spaces (the cache key), 3 the spaces the user
        # sees, 4 item counters, 5 completions by day, 6 anti-todo by day, 7 focus, 8 top lists.
        with django_assert_num_queries(8):
            first = client.get(f"{URL}?from=2026-04-25&to=2026-05-20")
        body = first.json()
        # The same question again, nothing written: the counter; the rest (the token's user too) from the
        # cache, which keeps the answer's JSON: the same bytes.
        with django_assert_num_queries(1):
            again = client.get(f"{URL}?from=2026-04-25&to=2026-05-20")
        assert again.content == first.content
        assert again["Content-Type"] == first["Content-Type"] == "application/json"
    assert body["items"]["completed"] == items // 2
    assert len(body["top_lists"]) == min(5, items // 2)


def test_a_write_invalidates_the_cached_answer(db: Any) -> None:
    with time_machine.travel(NOW, tick=False):
        user = UserFactory.create()
        item = ItemFactory.create(list=ListFactory.create(user=user))
        client = client_for(user)
        url = f"{URL}?from=2026-05-01&to=2026-05-20"
        assert client.get(url).json()["items"]["completed"] == 0
        assert client.get(url).json()["items"]["completed"] == 0  # answered from the cache

        item_update(user=user, item_id=item.pk, base=BaseVersion(item.version), data={"status": "done"})

        assert client.get(url).json()["items"]["completed"] == 1
