"""Anti-todo entries as a sync type (`anti_todo`)."""

from __future__ import annotations

from typing import Any

from antitodo import services
from antitodo.models import AntiTodoEntry
from antitodo.serializers import AntiTodoEntrySerializer
from sync.columns import DayText, TimestampText, UUIDText
from sync.registry import FeedColumns, SyncType, on_delete, register, write_services

# entry_data read from the database, JSON-ready (sync.columns): the feed's hot path.
ENTRY_FEED_COLUMNS = FeedColumns(
    {
        "id": UUIDText("id"),
        "date": DayText("date"),
        "title": "title",
        "note": "note",
        "item": UUIDText("item_id"),
        "version": "version",
        "created_at": TimestampText("created_at"),
        "updated_at": TimestampText("updated_at"),
    }
)


def entry_data(entry: AntiTodoEntry) -> dict[str, Any]:
    return dict(AntiTodoEntrySerializer(entry).data)


def register_all() -> None:
    register(
        SyncType(
            name="anti_todo",
            model=AntiTodoEntry,
            serializer=AntiTodoEntrySerializer,
            to_data=entry_data,
            feed_columns=ENTRY_FEED_COLUMNS,
            **write_services(
                id_name="entry_id",
                create=services.anti_todo_create,
                update=services.anti_todo_update,
                delete=services.anti_todo_delete,
            ),
        )
    )
    on_delete("item", services.on_items_deleted)
