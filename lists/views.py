from __future__ import annotations

from datetime import timedelta
from typing import Any, cast
from uuid import UUID

from django.db.models import Count, Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.compiled import CompiledPage
from core.dates import DAY_SCHEMA, local_today, parse_day
from core.models import User
from core.problems import validation_error
from core.versioning import BaseVersion
from core.views import VersionedModelViewSet, request_user
from lists import services
from lists.filters import ItemFilter, ListFilter
from lists.models import Item, List
from lists.selectors import AGENDA_DEFAULT_DAYS, AGENDA_MAX_DAYS, agenda, items_of_list
from lists.serializers import (
    AgendaEntrySerializer,
    ItemSerializer,
    ListSerializer,
    item_representation,
    list_representation,
)
from sync.fields import feed_fields, row_reader, value_columns


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
        list_id = self._one_list()
        if list_id is not None:
            # `?list=<uuid>` alone, the most common page: one query (the list's space checked inside
            # it), filtered directly: building the FilterSet and its form costs more than the rest of
            # the page. Any other filter, or a value the filter would refuse, goes through ItemFilter
            # (the same results and the same 400s). Its SQL is compiled once per shape
            # (core/compiled.py): building and compiling the query cost more than running it. Its
            # columns are the feed's, the API's text read from the database (sync.columns): the rows
            # are the answer's as they come.
            ids = {"list_id": list_id, "user_id": request_user(request).pk}
            compiled = CompiledPage("items_of_list", Item, _one_list_rows, ids, feed_fields(Item))
            # The paginator reads it as the QuerySet it stands in for.
            return self.get_paginated_response(self.paginate_queryset(cast(Any, compiled)))
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset.values(*value_columns(Item))) or []
        read = row_reader(Item)
        return self.get_paginated_response([read(row) for row in page])

    def _one_list(self) -> UUID | None:
        """The list of a page of one list that the fast path serves, else None."""
        params = self.request.query_params
        if _PAGE_PARAMS.issuperset(params) and len(params.getlist("list")) == 1:
            raw = params["list"]
            if raw and isinstance(raw, str):
                try:
                    return UUID(hex=raw)
                except ValueError:
                    pass
        return None


def _one_list_rows(list_id: UUID, user_id: UUID) -> QuerySet:
    return items_of_list(user_id, list_id)


class AgendaView(APIView):
    """`GET agenda?from=&to=`: what is due in a range of days, projected occurrences included
    (docs/api/recurrence.md)."""

    permission_classes = [IsAuthenticated]
    answers_etag = False  # a range of items, each with its own version
    extra_error_statuses = {"GET": {400}}  # a bad date, `from` after `to`, a range over 92 days

    @extend_schema(
        parameters=[
            OpenApiParameter("from", DAY_SCHEMA, description="First day (YYYY-MM-DD). Default: today."),
            OpenApiParameter(
                "to",
                DAY_SCHEMA,
                description=f"Last day, not before `from`, at most {AGENDA_MAX_DAYS} days in all. Default: "
                f"{AGENDA_DEFAULT_DAYS} days from `from`.",
            ),
        ],
        responses={
            200: inline_serializer(
                "Agenda",
                {
                    "results": AgendaEntrySerializer(many=True),
                    "next": serializers.CharField(allow_null=True),
                    "previous": serializers.CharField(allow_null=True),
                },
            )
        },
        tags=["items"],
        description="Open items due in the range, and the occurrences that will follow recurring items "
        "within it (`projected: true`, under the id they will have), by due date and time: one page, so "
        "`next` and `previous` are always null.",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        first = parse_day(params["from"], "from") if "from" in params else local_today(request.user)
        last = (
            parse_day(params["to"], "to")
            if "to" in params
            else first + timedelta(days=AGENDA_DEFAULT_DAYS - 1)
        )
        if first > last:
            raise validation_error({"from": ["Must not be after `to`."]})
        if (last - first).days + 1 > AGENDA_MAX_DAYS:
            raise validation_error({"to": [f"The range spans at most {AGENDA_MAX_DAYS} days."]})
        return Response({"results": agenda(request.user, first, last), "next": None, "previous": None})
