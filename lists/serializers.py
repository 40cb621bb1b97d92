from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from rest_framework import serializers

from core.serializers import DateTimeField, StrictModelSerializer, UUIDField
from lists.models import Item, List

OWNED_READ_ONLY = ["version", "created_at", "updated_at"]


class ListSerializer(StrictModelSerializer):
    id = UUIDField(required=False)
    color = serializers.RegexField(
        r"^#[0-9A-Fa-f]{6}$",
        allow_null=True,
        required=False,
        default=None,
        error_messages={"invalid": "Must be a color like #1A2B3C, or null."},
    )
    open_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = List
        fields = ["id", "name", "color", "position", "archived", "open_count", *OWNED_READ_ONLY]
        read_only_fields = OWNED_READ_ONLY
        ignored_fields = ["open_count"]
        extra_kwargs = {"position": {"min_value": -(2**31), "max_value": 2**31 - 1}}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # As for items: the declared fields' output, built directly (tests/lists/test_representation.py).
        if isinstance(instance, List):
            return {**list_own_fields(instance), "open_count": int(getattr(instance, "open_count", 0))}
        return super().to_representation(instance)


class ItemSerializer(StrictModelSerializer):
    id = UUIDField(required=False)
    list = UUIDField(source="list_id")
    title = serializers.CharField(max_length=500)
    notes = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    priority = serializers.IntegerField(min_value=1, max_value=4, required=False, default=3)
    completed_at = DateTimeField(required=False, allow_null=True)

    class Meta:
        model = Item
        fields = [
            "id",
            "list",
            "title",
            "notes",
            "status",
            "priority",
            "due_date",
            "position",
            "completed_at",
            *OWNED_READ_ONLY,
        ]
        read_only_fields = OWNED_READ_ONLY
        extra_kwargs = {"position": {"min_value": -(2**31), "max_value": 2**31 - 1}}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # The hot path of the items page and of sync: the same output as the declared fields give
        # (tests/lists/test_representation.py holds them equal), without walking the fields per item.
        if isinstance(instance, Item):
            return item_representation(instance)
        return super().to_representation(instance)

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        if "list_id" in values:
            values["list"] = values.pop("list_id")
        return values


def _timestamp(value: datetime | None) -> str | None:
    """What core.serializers.DateTimeField answers: RFC 3339 in UTC with microseconds and `Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def list_own_fields(entity: List) -> dict[str, Any]:
    """A list's own fields as the API shows them, without the derived `open_count`."""
    return {
        "id": str(entity.id),
        "name": entity.name,
        "color": entity.color,
        "position": int(entity.position),
        "archived": bool(entity.archived),
        "version": int(entity.version),
        "created_at": _timestamp(entity.created_at),
        "updated_at": _timestamp(entity.updated_at),
    }


# The columns an item's representation reads: a page of items is read as these values, not as models.
ITEM_COLUMNS = (
    "id",
    "list_id",
    "title",
    "notes",
    "status",
    "priority",
    "due_date",
    "position",
    "completed_at",
    "version",
    "created_at",
    "updated_at",
)


def item_representation(item: Item) -> dict[str, Any]:
    """An item as the API shows it (ItemSerializer's fields), built directly."""
    return item_row_representation({column: getattr(item, column) for column in ITEM_COLUMNS})


def item_row_representation(row: dict[str, Any]) -> dict[str, Any]:
    """The same from a row of `ITEM_COLUMNS` values (`values(*ITEM_COLUMNS)`)."""
    list_id = row["list_id"]
    return {
        "id": str(row["id"]),
        "list": None if list_id is None else str(list_id),
        "title": row["title"],
        "notes": row["notes"],
        "status": str(row["status"]),
        "priority": int(row["priority"]),
        "due_date": _day(row["due_date"]),
        "position": int(row["position"]),
        "completed_at": _timestamp(row["completed_at"]),
        "version": int(row["version"]),
        "created_at": _timestamp(row["created_at"]),
        "updated_at": _timestamp(row["updated_at"]),
    }
