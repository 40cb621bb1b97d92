"""Lists and items as sync types (the registry of `sync`): what push, the feed and the export need."""

from __future__ import annotations

from lists import services
from lists.models import Item, List
from lists.serializers import ItemSerializer, ListSerializer, item_representation, list_representation
from sync.registry import FeedColumns, SyncType, on_holder_spaces, register, write_services
from workspaces.registry import on_member_removed


def register_all() -> None:
    register(
        SyncType(
            model=List,
            serializer=ListSerializer,
            represent=list_representation,
            feed_columns=FeedColumns.of(List),  # open_count is derived: it changes without the version
            export_section="lists",
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
            model=Item,
            serializer=ItemSerializer,
            represent=item_representation,
            feed_columns=FeedColumns.of(Item),
            export_section="items",
            **write_services(
                id_name="item_id",
                create=services.item_create,
                update=services.item_update,
                delete=services.item_delete,
            ),
        )
    )
    # A member who leaves a workspace (or is removed) is no longer anyone's assignee there.
    on_member_removed(services.items_unassign_member)
    # A list's deletion or move changes what refers to its items (their holders).
    on_holder_spaces("list", services.list_holder_spaces)
