"""Writes of anti-todo entries (DESIGN convention 3), and what an item's deletion does to them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import Http404

from antitodo.models import AntiTodoEntry
from core.dates import local_today
from core.problems import IdConflict, validation_error
from core.versioning import BaseVersion
from lists.models import Item
from sync.services import ChangeWriter, change_writer, check_base, check_delete_base

_ATTRS = {"item": "item_id"}
ENTRY_FIELDS = ["date", "title", "note", "item"]


def _item_ref(user: Any, data: dict[str, Any]) -> dict[str, Any]:
    """`item` as one of the user's item ids (or None); anything else is a 400 that reveals nothing."""
    if data.get("item") is None:
        return data
    item_id = data["item"].pk if isinstance(data["item"], Item) else data["item"]
    if not Item.objects.for_user(user).filter(pk=item_id).exists():
        raise validation_error({"item": ["No such item."]})
    return {**data, "item": item_id}


def _values(data: dict[str, Any]) -> dict[str, Any]:
    return {_ATTRS.get(k, k): v for k, v in data.items()}


def _owned(user: Any, entry_id: UUID) -> AntiTodoEntry:
    entry = AntiTodoEntry.objects.for_user(user).filter(pk=entry_id).first()
    if entry is None:
        raise Http404
    return entry


def anti_todo_create(
    *, user: Any, data: dict[str, Any], entry_id: UUID | None = None
) -> tuple[AntiTodoEntry, bool]:
    """A new entry (dated today in the user's time zone unless `date` is given). A retried create with the
    same id and content answers the existing entry; other content, or another user's id, is 409."""
    with change_writer(user) as writer:
        data = _item_ref(user, {"date": local_today(user), "note": "", "item": None, **data})
        values = _values(data)
        if entry_id is not None:
            existing = AntiTodoEntry.objects.filter(pk=entry_id).first()
            if existing is not None:
                if existing.user_id != user.pk or any(getattr(existing, k) != v for k, v in values.items()):
                    raise IdConflict()
                return existing, False
        entry = AntiTodoEntry(**values)
        if entry_id is not None:
            entry.id = entry_id
        writer.save(entry, ENTRY_FIELDS, created=True)
    return entry, True


def anti_todo_update(
    *, user: Any, entry_id: UUID, base: BaseVersion, data: dict[str, Any]
) -> tuple[AntiTodoEntry, bool]:
    with change_writer(user) as writer:
        entry = _owned(user, entry_id)
        data = _item_ref(user, data) if "item" in data else data
        changes = {k: v for k, v in data.items() if getattr(entry, _ATTRS.get(k, k)) != v}
        merged = check_base(entry, base, changes.keys())
        if changes:
            for key, value in _values(changes).items():
                setattr(entry, key, value)
            writer.save(entry, changes.keys())
    return entry, merged


def anti_todo_delete(*, user: Any, entry_id: UUID, base: BaseVersion) -> None:
    with change_writer(user) as writer:
        entry = _owned(user, entry_id)
        check_delete_base(entry, base)
        writer.delete(entry)


def on_items_deleted(writer: ChangeWriter, item_ids: list[Any]) -> None:
    """Before items are deleted: entries linked to them lose the link as a new version of `item`."""
    for entry in AntiTodoEntry.objects.filter(user_id=writer.user.pk, item_id__in=item_ids):
        entry.item = None
        writer.save(entry, ["item"])
