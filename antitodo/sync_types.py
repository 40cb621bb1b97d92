"""Anti-todo entries as a sync type (`anti_todo`)."""

from __future__ import annotations

from typing import Any

from antitodo import services
from antitodo.models import AntiTodoEntry
from antitodo.serializers import AntiTodoEntrySerializer
from sync.registry import SyncType, on_delete, register, write_services


def entry_data(entry: AntiTodoEntry) -> dict[str, Any]:
    return dict(AntiTodoEntrySerializer(entry).data)


def register_all() -> None:
    register(
        SyncType(
            name="anti_todo",
            model=AntiTodoEntry,
            serializer=AntiTodoEntrySerializer,
            to_data=entry_data,
            **write_services(
                id_name="entry_id",
                create=services.anti_todo_create,
                update=services.anti_todo_update,
                delete=services.anti_todo_delete,
            ),
        )
    )
    on_delete("item", services.on_items_deleted)
