"""The items' fast representation (lists.serializers.item_representation) is exactly what the declared
serializer fields give, for every kind of value."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from rest_framework import serializers

from lists.models import Item
from lists.serializers import ItemSerializer, item_representation
from tests.factories import ItemFactory, ListFactory

pytestmark = pytest.mark.django_db


def _by_fields(item: Item) -> dict[str, Any]:
    return dict(serializers.ModelSerializer.to_representation(ItemSerializer(), item))


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"due_date": date(2026, 2, 28), "priority": 1, "position": -5, "notes": "a\\nb"},
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
