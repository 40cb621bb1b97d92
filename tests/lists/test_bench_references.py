"""The benchmark's references for the items page (bench/views.py) answer what the real page answers: the
hand-written `values()` page the same JSON, the naive DRF page the same fields per item. A reference that
left out fields would do less work than the page it is compared with and flatter it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from rest_framework.test import APIClient

from lists.models import Item
from tests.factories import ItemFactory, ListFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("bench.urls")]


@pytest.fixture
def page_list(user: Any) -> Any:
    a_list = ListFactory.create(user=user)
    # One more than a page (so `next` is compared too), with every kind of value the page shows.
    for n in range(51):
        values: dict[str, Any] = {"position": n % 7, "title": f"item {n}"}
        if n % 3 == 0:
            values |= {"due_date": date(2026, 3, 29), "due_time": time(n % 24, 5)}
        if n % 5 == 0:
            values |= {
                "due_date": date(2027, 1, 31),
                "recurrence": {"rule": "FREQ=WEEKLY", "mode": "schedule"},
            }
        if n % 4 == 0:
            values |= {
                "status": Item.Status.DONE,
                "completed_at": datetime(2026, 1, 2, 3, 4, 5, n, tzinfo=UTC),
            }
        ItemFactory.create(list=a_list, user=user, **values)
    # Series and people as the services set them.
    Item.objects.filter(list=a_list, recurrence__isnull=False).update(series=a_list.pk, created_by=user)
    Item.objects.filter(list=a_list, status=Item.Status.DONE).update(completed_by=user, assignee=user)
    return a_list


def test_the_values_reference_answers_the_real_pages_json(user_client: APIClient, page_list: Any) -> None:
    real = user_client.get(f"/api/v1/items?list={page_list.pk}")
    reference = user_client.get(f"/bench/ref/items-values?list={page_list.pk}")

    assert real.status_code == reference.status_code == 200
    ours, theirs = real.json(), reference.json()
    assert theirs["results"] == ours["results"]
    assert theirs["previous"] is ours["previous"] is None
    # The same cursor, on the reference's own path.
    assert ours["next"].startswith("http://testserver/api/v1/items?cursor=")
    assert theirs["next"] == ours["next"].replace("/api/v1/items?", "/bench/ref/items-values?")
    first = real.json()["results"][0]
    assert list(reference.json()["results"][0]) == list(first)  # in the same order


def test_the_naive_reference_answers_the_real_pages_fields(user_client: APIClient, page_list: Any) -> None:
    real = user_client.get(f"/api/v1/items?list={page_list.pk}").json()["results"]
    naive = user_client.get(f"/bench/ref/items-naive?list={page_list.pk}").json()["results"]

    assert len(naive) == len(real) == 50
    assert [list(item) for item in naive] == [list(item) for item in real]
