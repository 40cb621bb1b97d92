from __future__ import annotations

from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field

from core.problems import validation_error
from core.views import request_user
from lists import search
from lists.models import Item, List

_UUID = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


def _id_or(word: str, what: str) -> dict[str, str]:
    """The schema of a filter that takes an id or one word: anything else is a 400."""
    return {"type": "string", "pattern": f"^({word}|{_UUID})$", "description": f"A {what} id, or `{word}`."}


def _uuid(name: str, value: str, word: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise validation_error({name: [f"Must be an id or '{word}'."]}) from None


def in_workspace(queryset: QuerySet, value: str, user: object) -> QuerySet:
    """`?workspace=personal` (the user's own lists) or `?workspace=<id>` (what the user sees of it: nothing
    when they are not a member, as for an id that does not exist)."""
    if value == "personal":
        return queryset.filter(space__user=user)
    return queryset.filter(space__workspace_id=_uuid("workspace", value, "personal"))


class WorkspaceFilterMixin(django_filters.FilterSet):
    workspace = django_filters.CharFilter(
        method="filter_workspace", max_length=36, help_text="A workspace id, or `personal`."
    )

    @extend_schema_field(_id_or("personal", "workspace"))
    def filter_workspace(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return in_workspace(queryset, value, getattr(self.request, "user", None))


class ListFilter(WorkspaceFilterMixin):
    class Meta:
        model = List
        fields: list[str] = []


def start_of_local_day(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz_name))


class ItemFilter(WorkspaceFilterMixin):
    list = django_filters.UUIDFilter(field_name="list_id")
    assignee = django_filters.CharFilter(
        method="filter_assignee", max_length=36, help_text="A user id, or `me`."
    )
    status = django_filters.ChoiceFilter(choices=Item.Status.choices)
    # Integer choices, so the schema says `integer, enum [1..4]` (string keys made it contradict itself).
    priority = django_filters.TypedChoiceFilter(choices=[(p, str(p)) for p in range(1, 5)], coerce=int)
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lt")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gt")
    completed_from = django_filters.DateFilter(method="filter_completed_from")
    completed_to = django_filters.DateFilter(method="filter_completed_to")
    q = django_filters.CharFilter(
        method="filter_q",
        max_length=search.MAX_QUERY_LENGTH,
        help_text="Full-text search of title and notes: the syntax of `GET search` (docs/api/search.md).",
    )

    class Meta:
        model = Item
        fields: list[str] = []

    def _tz(self) -> str:
        user = getattr(self.request, "user", None)
        return getattr(user, "timezone", "UTC") or "UTC"

    @extend_schema_field(_id_or("me", "user"))
    def filter_assignee(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "me":
            return queryset.filter(assignee_id=getattr(self.request.user, "pk", None))
        return queryset.filter(assignee_id=_uuid("assignee", value, "me"))

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search.filter_items(queryset, search.parse(value), request_user(self.request))

    def filter_completed_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(completed_at__gte=start_of_local_day(value, self._tz()))

    def filter_completed_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        if value >= date.max:
            return queryset
        return queryset.filter(completed_at__lt=start_of_local_day(value + timedelta(days=1), self._tz()))
