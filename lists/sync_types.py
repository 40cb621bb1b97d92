"""Lists and items as sync types (the registry of `sync`)."""

from __future__ import annotations

from typing import Any

from lists import services
from lists.models import Item, List
from lists.selectors import with_open_count
from lists.serializers import ItemSerializer, ListSerializer, item_representation, list_own_fields
from sync.columns import DayText, TimestampText, UUIDText
from sync.registry import FeedColumns, SyncType, register, write_services

# list_data and item_data read from the database, JSON-ready (sync.columns): the feed's hot path.
LIST_FEED_COLUMNS = FeedColumns(
    {
        "id": UUIDText("id"),
        "name": "name",
        "color": "color",
        "position": "position",
        "archived": "archived",
        "version": "version",
        "created_at": TimestampText("created_at"),
        "updated_at": TimestampText("updated_at"),
    }
)
ITEM_FEED_COLUMNS = FeedColumns(
    {
        "id": UUIDText("id"),
        "list": UUIDText("list_id"),
        "title": "title",
        "notes": "notes",
        "status": "status",
        "priority": "priority",
        "due_date": DayText("due_date"),
        "position": "position",
        "completed_at": TimestampText("completed_at"),
        "version": "version",
        "created_at": TimestampText("created_at"),
        "updated_at": TimestampText("updated_at"),
    }
)


def list_data(entity: List) -> dict[str, Any]:
    return list_own_fields(entity)  # without open_count: it changes without the list's version


def list_representation(entity: List) -> dict[str, Any]:
    """What `GET lists/{id}` answers, open_count included (push results and conflicts show it)."""
    return dict(ListSerializer(with_open_count(entity)).data)


def item_data(entity: Item) -> dict[str, Any]:
    return item_representation(entity)


def register_all() -> None:
    register(
        SyncType(
            name="list",
            model=List,
            serializer=ListSerializer,
            to_data=list_data,
            feed_columns=LIST_FEED_COLUMNS,
            represent=list_representation,
            **write_services(
                id_name="list_id",
                create=services.list_create,
                update=services.list_update,
                delete=services.list_delete,
            ),
        )
    )
    register(
        SyncType(
            name="item",
            model=Item,
            serializer=ItemSerializer,
            to_data=item_data,
            feed_columns=ITEM_FEED_COLUMNS,
            **write_services(
                id_name="item_id",
                create=services.item_create,
                update=services.item_update,
                delete=services.item_delete,
            ),
        )
    )
