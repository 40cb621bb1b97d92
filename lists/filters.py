from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import django_filters
from django.db.models import QuerySet

from lists.models import Item


def start_of_local_day(day: date, tz_name: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz_name))


class ItemFilter(django_filters.FilterSet):
    list = django_filters.UUIDFilter(field_name="list_id")
    status = django_filters.ChoiceFilter(choices=Item.Status.choices)
    # Integer choices, so the schema says `integer, enum [1..4]` (string keys made it contradict itself).
    priority = django_filters.TypedChoiceFilter(choices=[(p, str(p)) for p in range(1, 5)], coerce=int)
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lt")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gt")
    completed_from = django_filters.DateFilter(method="filter_completed_from")
    completed_to = django_filters.DateFilter(method="filter_completed_to")
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", max_length=200)

    class Meta:
        model = Item
        fields: list[str] = []

    def _tz(self) -> str:
        user = getattr(self.request, "user", None)
        return getattr(user, "timezone", "UTC") or "UTC"

    def filter_completed_from(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        return queryset.filter(completed_at__gte=start_of_local_day(value, self._tz()))

    def filter_completed_to(self, queryset: QuerySet, name: str, value: date) -> QuerySet:
        if value >= date.max:
            return queryset
        return queryset.filter(completed_at__lt=start_of_local_day(value + timedelta(days=1), self._tz()))
