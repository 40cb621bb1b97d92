from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from rest_framework.request import Request
from rest_framework.response import Response

from core.models import User
from core.versioning import BaseVersion
from core.views import VersionedModelViewSet
from lists import services
from lists.filters import ItemFilter, ListFilter
from lists.models import Item, List
from lists.serializers import ItemSerializer, ListSerializer, item_representation, list_representation
from sync.fields import row_data, value_columns


class ListViewSet(VersionedModelViewSet):
    model = List
    serializer_class = ListSerializer
    filterset_class = ListFilter
    # A create in a workspace the caller is not a member of is a 404, as for one that does not exist.
    extra_error_statuses = {"POST": {404}}
    ordering_fields = ("position", "name", "created_at", "updated_at")
    default_ordering = "position"

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        # open_count in the same query as the page, never a query per list.
        return queryset.annotate(open_count=Count("items", filter=Q(items__status=Item.Status.OPEN)))

    def represent(self, entity: List) -> dict[str, Any]:
        return list_representation(entity)

    def create_entity(self, user: User, entity_id: UUID | None, data: dict[str, Any]) -> tuple[List, bool]:
        return services.list_create(user=user, list_id=entity_id, data=data)

    def update_entity(
        self, user: User, entity_id: UUID, base: BaseVersion, data: dict[str, Any]
    ) -> tuple[List, bool]:
        return services.list_update(user=user, list_id=entity_id, base=base, data=data)

    def delete_entity(self, user: User, entity_id: UUID, base: BaseVersion) -> None:
        services.list_delete(user=user, list_id=entity_id, base=base)


# Query parameters of a page of one list that the fast path below understands.
_PAGE_PARAMS = frozenset({"list", "limit", "cursor", "ordering"})


class ItemViewSet(VersionedModelViewSet):
    model = Item
    serializer_class = ItemSerializer
    filterset_class = ItemFilter
    ordering_fields = ("position", "due_date", "priority", "created_at", "updated_at", "completed_at")
    default_ordering = "position"

    def represent(self, entity: Item) -> dict[str, Any]:
        return item_representation(entity)

    def create_entity(self, user: User, entity_id: UUID | None, data: dict[str, Any]) -> tuple[Item, bool]:
        return services.item_create(user=user, item_id=entity_id, data=data)

    def update_entity(
        self, user: User, entity_id: UUID, base: BaseVersion, data: dict[str, Any]
    ) -> tuple[Item, bool]:
        return services.item_update(user=user, item_id=entity_id, base=base, data=data)

    def delete_entity(self, user: User, entity_id: UUID, base: BaseVersion) -> None:
        services.item_delete(user=user, item_id=entity_id, base=base)

    def list(self, request: Request) -> Response:
        # A page is read as values and shaped directly: building 50 model instances cost more than the
        # query (docs/performance.md); tests/lists/test_representation.py holds both shapes equal.
        queryset = self.filter_queryset(self.get_queryset()).values(*value_columns(Item))
        page = self.paginate_queryset(queryset) or []
        return self.get_paginated_response([row_data(Item, row) for row in page])

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """`?list=<uuid>` alone, the most common page, is filtered directly: building the FilterSet and
        its form costs more than the rest of the page. Any other filter, or a value the filter would
        refuse, goes through ItemFilter as before (the same results and the same 400s)."""
        params = self.request.query_params
        if self.action == "list" and _PAGE_PARAMS.issuperset(params) and len(params.getlist("list")) == 1:
            raw = params["list"]
            if raw and isinstance(raw, str):
                try:
                    return queryset.filter(list_id=UUID(hex=raw))
                except ValueError:
                    pass
        return super().filter_queryset(queryset)
