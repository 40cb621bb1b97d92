"""Anti-todo entries as a sync type (`anti_todo`)."""

from __future__ import annotations

from typing import Any

from antitodo import services
from antitodo.models import AntiTodoEntry
from antitodo.serializers import AntiTodoEntrySerializer
from sync.registry import SyncType, on_delete, register


def entry_data(entry: AntiTodoEntry) -> dict[str, Any]:
    return dict(AntiTodoEntrySerializer(entry).data)


def register_all() -> None:
    register(
        SyncType(
            name="anti_todo",
            model=AntiTodoEntry,
            serializer=AntiTodoEntrySerializer,
            to_data=entry_data,
            create=lambda *, user, entity_id, data: services.anti_todo_create(
                user=user, data=data, entry_id=entity_id
            ),
            update=lambda *, user, entity_id, base, data: services.anti_todo_update(
                user=user, entry_id=entity_id, base=base, data=data
            ),
            delete=lambda *, user, entity_id, base: services.anti_todo_delete(
                user=user, entry_id=entity_id, base=base
            ),
        )
    )
    on_delete("item", services.on_items_deleted)
