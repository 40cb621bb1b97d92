"""Reads of lists beyond a filter."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid5

from django.db.models import Exists, Q, QuerySet

from core.dates import local_today
from lists import recurrence as rules
from lists.models import Item, List
from sync.fields import entity_data
from sync.spaces import visible_spaces_query


def items_of_list(user: Any, list_id: UUID) -> QuerySet[Item]:
    """`Item.objects.for_user(user).filter(list=list_id)` in one query instead of two: the list's items,
    read from the index (list, position, id), when the list lives in a space the user sees, which the
    database checks once on the list's row inside the same query. An item lives in its list's space,
    always (lists.services), so this is what `for_user` would give, without reading the user's spaces
    first. (With the spaces as a subquery on the items instead, PostgreSQL read the user's whole space.)"""
    visible_list = List.objects.filter(pk=list_id, space_id__in=visible_spaces_query(user))
    return Item.objects.filter(list_id=list_id).filter(Exists(visible_list))


def with_open_count(entity: List) -> List:
    """The list with `open_count` set: pages annotate it in their one query; a single list written or
    shown in a conflict counts its open items here."""
    if not hasattr(entity, "open_count"):
        entity.open_count = entity.items.filter(status=Item.Status.OPEN).count()  # type: ignore[attr-defined]
    return entity


# --- the agenda (docs/api/recurrence.md) -------------------------------------------------------------------

AGENDA_DEFAULT_DAYS = 7
AGENDA_MAX_DAYS = 92

# What a projected occurrence does not have yet.
_NOT_YET = ("version", "created_at", "updated_at", "created_by", "completed_at", "completed_by")


def _agenda_order(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (
        entry["due_date"],
        entry["due_time"] is None,
        entry["due_time"] or "",
        entry["position"],
        entry["id"],
    )


def agenda(user: Any, first: date, last: date) -> list[dict[str, Any]]:
    """The user's open items due from `first` to `last` (every space they see), and the occurrences that
    will follow the recurring ones within the range, each under the id it will have: two queries (the
    spaces the user sees, the items), whatever the range holds."""
    today = local_today(user)
    rows = list(
        Item.objects.for_user(user)
        .filter(status=Item.Status.OPEN)
        .filter(Q(due_date__gte=first, due_date__lte=last) | Q(recurrence__isnull=False, due_date__lt=first))
    )
    real = {row.pk for row in rows}
    entries = [
        {**entity_data(row), "projected": False}
        for row in rows
        if row.due_date is not None and row.due_date >= first
    ]
    for row in rows:
        if row.recurrence is None or row.due_date is None:
            continue
        series = row.series or row.pk
        following = rules.projected(
            rules.parse_rule(row.recurrence["rule"]),
            row.recurrence["mode"],
            due_date=row.due_date,
            index=row.series_index or 1,
            last=last,
            today=today,
        )
        for occurrence in following:
            projected_id = uuid5(series, occurrence.due_date.isoformat())
            if occurrence.due_date < first or projected_id in real:
                continue
            data = entity_data(row)
            data.update(dict.fromkeys(_NOT_YET))
            data.update(
                id=str(projected_id), status=Item.Status.OPEN.value, due_date=occurrence.due_date.isoformat()
            )
            entries.append({**data, "projected": True})
    return sorted(entries, key=_agenda_order)
