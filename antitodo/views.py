from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view

from antitodo.models import AntiTodoEntry
from antitodo.serializers import AntiTodoEntrySerializer
from core.dates import DAY_SCHEMA, MAX_RANGE_DAYS, day_param, range_params
from core.views import EntityServices, VersionedModelViewSet
from sync import registry


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

    def entity_services(self) -> EntityServices:
        return registry.require("anti_todo")
