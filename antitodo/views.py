from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view

from antitodo import services
from antitodo.models import AntiTodoEntry
from antitodo.serializers import AntiTodoEntrySerializer, entry_representation
from core.dates import DAY_SCHEMA, MAX_RANGE_DAYS, day_param, range_params
from core.models import User
from core.versioning import BaseVersion
from core.views import VersionedModelViewSet


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "date",
                DAY_SCHEMA,
                description="One day; default today (user's time zone). Ignored when a range is given.",
            ),
            OpenApiParameter(
                "from", DAY_SCHEMA, description="First day of a range: needs `to` too (without it, 400)."
            ),
            OpenApiParameter(
                "to",
                DAY_SCHEMA,
                description="Last day of a range: needs `from` too (without it, 400), not before it; "
                f"at most {MAX_RANGE_DAYS} days.",
            ),
        ]
    )
)
@extend_schema(tags=["anti-todo"])
class AntiTodoViewSet(VersionedModelViewSet):
    model = AntiTodoEntry
    serializer_class = AntiTodoEntrySerializer
    ordering_fields = ("date", "created_at", "updated_at")
    default_ordering = "created_at"

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action != "list":
            return queryset
        params = self.request.query_params
        if "from" in params or "to" in params:
            first, last = range_params(params)
            return queryset.filter(date__gte=first, date__lte=last)
        return queryset.filter(date=day_param(params, self.request.user))

    def represent(self, entity: AntiTodoEntry) -> dict[str, Any]:
        return entry_representation(entity)

    def create_entity(
        self, user: User, entity_id: UUID | None, data: dict[str, Any]
    ) -> tuple[AntiTodoEntry, bool]:
        return services.anti_todo_create(user=user, entry_id=entity_id, data=data)

    def update_entity(
        self, user: User, entity_id: UUID, base: BaseVersion, data: dict[str, Any]
    ) -> tuple[AntiTodoEntry, bool]:
        return services.anti_todo_update(user=user, entry_id=entity_id, base=base, data=data)

    def delete_entity(self, user: User, entity_id: UUID, base: BaseVersion) -> None:
        services.anti_todo_delete(user=user, entry_id=entity_id, base=base)
