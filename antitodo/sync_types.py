"""Anti-todo entries as a sync type (`anti_todo`): what push, the feed and the export need."""

from __future__ import annotations

from antitodo import services
from antitodo.models import AntiTodoEntry
from antitodo.serializers import AntiTodoEntrySerializer, entry_representation
from sync.registry import FeedColumns, SyncType, on_delete, on_holder_spaces, register, write_services


def register_all() -> None:
    register(
        SyncType(
            model=AntiTodoEntry,
            serializer=AntiTodoEntrySerializer,
            represent=entry_representation,
            feed_columns=FeedColumns.of(AntiTodoEntry),
            export_section="anti_todo",
            **write_services(
                id_name="entry_id",
                create=services.anti_todo_create,
                update=services.anti_todo_update,
                delete=services.anti_todo_delete,
            ),
        )
    )
    on_delete("item", services.on_items_deleted)
    on_holder_spaces("item", services.entry_spaces_linking)
