"""Reads of lists beyond a filter."""

from __future__ import annotations

from lists.models import Item, List


def with_open_count(entity: List) -> List:
    """The list with `open_count` set: pages annotate it in their one query; a single list written or
    shown in a conflict counts its open items here."""
    if not hasattr(entity, "open_count"):
        entity.open_count = entity.items.filter(status=Item.Status.OPEN).count()  # type: ignore[attr-defined]
    return entity
