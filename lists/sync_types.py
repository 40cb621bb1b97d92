"""Lists and items as sync types (the registry of `sync`)."""

from __future__ import annotations

from typing import Any

from lists import services
from lists.models import Item, List
from lists.selectors import with_open_count
from lists.serializers import ItemSerializer, ListSerializer, item_representation, list_own_fields
from sync.registry import SyncType, register, write_services


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
            **write_services(
                id_name="item_id",
                create=services.item_create,
                update=services.item_update,
                delete=services.item_delete,
            ),
        )
    )
