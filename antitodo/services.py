"""Writes of anti-todo entries (docs/architecture.md, convention 3), and what an item's deletion does to
them."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from antitodo.models import AntiTodoEntry
from core.dates import local_today
from core.models import User
from core.problems import validation_error
from core.versioning import BaseVersion
from lists.models import Item
from sync.services import (
    ChangeWriter,
    change_writer,
    changed_values,
    create_once,
    owned_or_404,
    versioned_delete,
    versioned_update,
)


def _item_ref(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """`item` as one of the user's item ids (or None); anything else is a 400 that reveals nothing."""
    if data.get("item") is None:
        return data
    item_id = data["item"].pk if isinstance(data["item"], Item) else data["item"]
    if not Item.objects.for_user(user).filter(pk=item_id).exists():
        raise validation_error({"item": ["No such item."]})
    return {**data, "item": item_id}


def anti_todo_create(
    *, user: User, data: dict[str, Any], entry_id: UUID | None = None
) -> tuple[AntiTodoEntry, bool]:
    """A new entry (dated today in the user's time zone unless `date` is given). A retried create with the
    same id and content answers the existing entry; other content, or another user's id, is 409."""
    with change_writer(user) as writer:
        data = _item_ref(user, {"date": local_today(user), "note": "", "item": None, **data})
        return create_once(writer, AntiTodoEntry, entry_id, data)


def anti_todo_update(
    *, user: User, entry_id: UUID, base: BaseVersion, data: dict[str, Any]
) -> tuple[AntiTodoEntry, bool]:
    with change_writer(user) as writer:
        entry = owned_or_404(AntiTodoEntry, user, entry_id)
        data = _item_ref(user, data) if "item" in data else data
        merged = versioned_update(writer, entry, base, changed_values(entry, data))
    return entry, merged


def anti_todo_delete(*, user: User, entry_id: UUID, base: BaseVersion) -> None:
    with change_writer(user) as writer:
        versioned_delete(writer, owned_or_404(AntiTodoEntry, user, entry_id), base)


def entry_spaces_linking(item_ids: Collection[UUID]) -> list[int]:
    """The personal spaces of the entries linked to any of these items: what deleting them changes, locked
    by the write with its own spaces before it reads anything (sync.registry.on_holder_spaces)."""
    entries = AntiTodoEntry.objects.filter(item_id__in=item_ids)
    return list(entries.values_list("space_id", flat=True).distinct())


def on_items_deleted(writer: ChangeWriter, item_ids: list[UUID]) -> None:
    """Before items are deleted: entries linked to them lose the link as a new version of `item`, whoever
    wrote them (a workspace's item may be linked by any member). Their spaces were locked with the write's
    own (`entry_spaces_linking`); `lock` only takes one that a write did not name (none held: a no-op)."""
    entries = list(AntiTodoEntry.objects.filter(item_id__in=item_ids))
    writer.lock(*{entry.space_id for entry in entries})
    for entry in entries:
        entry.item = None
        writer.save(entry, ["item"])
