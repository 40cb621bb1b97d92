"""The fast representation of lists and items (sync.fields.entity_data, from their `sync_fields`) is
exactly what the declared serializer fields give, for every kind of value."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from django.db.models import Count
from rest_framework import serializers

from lists.models import Item, List
from lists.serializers import ItemSerializer, ListSerializer, item_representation
from sync.fields import entity_data, row_data, value_columns
from tests.factories import ItemFactory, ListFactory

pytestmark = pytest.mark.django_db


def _by_fields(item: Item) -> dict[str, Any]:
    return dict(serializers.ModelSerializer.to_representation(ItemSerializer(), item))


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"due_date": date(2026, 2, 28), "priority": 1, "position": -5, "notes": "a\\nb"},
        {"due_date": date(2026, 3, 29), "due_time": time(0, 0)},
        {"due_date": date(2026, 3, 29), "due_time": time(23, 59)},
        {"due_date": date(2027, 1, 31), "recurrence": {"rule": "FREQ=MONTHLY", "mode": "schedule"}},
        {"status": "done", "completed_at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)},
        {"status": Item.Status.DONE, "completed_at": datetime(1999, 12, 31, 23, 59, tzinfo=UTC)},
        {"title": "ünïcode ✓", "position": 2**31 - 1},
    ],
)
def test_it_equals_the_declared_fields(user: Any, values: dict[str, Any]) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user), **values)
    fresh = Item.objects.get(pk=item.pk)

    for entity in (item, fresh):  # as just written (enums, aware datetimes) and as read back
        assert item_representation(entity) == _by_fields(entity)
        assert ItemSerializer(entity).data == _by_fields(entity)
        assert list(item_representation(entity)) == list(_by_fields(entity))  # in the same order
    row = Item.objects.values(*value_columns(Item)).get(pk=item.pk)
    assert row_data(Item, row) == _by_fields(fresh)  # a page read as values


@pytest.mark.parametrize("values", [{}, {"color": "#A1B2C3", "archived": True, "position": -3}])
def test_a_lists_representation_equals_the_declared_fields(user: Any, values: dict[str, Any]) -> None:
    a_list = ListFactory.create(user=user, **values)
    counted = List.objects.filter(pk=a_list.pk).annotate(open_count=Count("items")).get()

    for entity in (a_list, counted):
        by_fields = dict(serializers.ModelSerializer.to_representation(ListSerializer(), entity))
        assert ListSerializer(entity).data == by_fields
        assert entity_data(entity) == {k: v for k, v in by_fields.items() if k != "open_count"}
        assert list(ListSerializer(entity).data) == list(by_fields)  # in the same order
