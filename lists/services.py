"""Writes of lists and items (docs/architecture.md, convention 3): ownership of references, versions,
change records."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import Http404
from django.utils import timezone

from core.models import User
from core.problems import validation_error
from core.versioning import BaseVersion
from lists.models import Item, List
from sync.services import (
    change_writer,
    changed_values,
    check_delete_base,
    create_once,
    owned_or_404,
    versioned_delete,
    versioned_update,
)


def owned_list(user: User, list_id: UUID | List) -> List:
    """A list the user may write to, as a reference from another entity, read under its space's lock (call
    it inside `change_writer`): a list they cannot see is a 400 that does not say whether it exists."""
    list_pk = list_id.pk if isinstance(list_id, List) else list_id
    try:
        return owned_or_404(List, user, list_pk)
    except Http404:
        raise validation_error({"list": ["No such list."]}) from None


# --- lists ------------------------------------------------------------------------------------------------


def list_create(*, user: User, data: dict[str, Any], list_id: UUID | None = None) -> tuple[List, bool]:
    with change_writer(user) as writer:
        return create_once(writer, List, list_id, data)


def list_update(*, user: User, list_id: UUID, base: BaseVersion, data: dict[str, Any]) -> tuple[List, bool]:
    with change_writer(user, personal=False) as writer:
        entity = owned_or_404(List, user, list_id)
        merged = versioned_update(writer, entity, base, changed_values(entity, data))
    return entity, merged


def list_delete(*, user: User, list_id: UUID, base: BaseVersion) -> None:
    """Deletes the list and its items; each item's deletion is recorded for sync."""
    with change_writer(user, personal=False) as writer:
        entity = owned_or_404(List, user, list_id)
        check_delete_base(entity, base)
        writer.record_deletions("item", Item.objects.filter(list=entity).values_list("id", "version"))
        writer.delete(entity)


# --- items ------------------------------------------------------------------------------------------------


def _completion(item: Item | None, data: dict[str, Any]) -> dict[str, Any]:
    """`completed_at` follows `status`: set when it becomes done (the client's time, if sent and not in the
    future), cleared when reopened."""
    data = dict(data)
    status = data.get("status", item.status if item else Item.Status.OPEN)
    sent: datetime | None = data.get("completed_at")
    if sent is not None and sent > timezone.now():
        raise validation_error({"completed_at": ["Cannot be in the future."]})
    if status == Item.Status.DONE:
        if sent is not None:
            data["completed_at"] = sent
        elif item is None or item.status != Item.Status.DONE:
            data["completed_at"] = timezone.now()
        else:
            data.pop("completed_at", None)
    else:
        if sent is not None:
            raise validation_error({"completed_at": ["Only a done item has a completion time."]})
        data["completed_at"] = None
    return data


def item_create(*, user: User, data: dict[str, Any], item_id: UUID | None = None) -> tuple[Item, bool]:
    with change_writer(user, personal=False) as writer:
        data = {**data, "list": owned_list(user, data["list"])}
        return create_once(writer, Item, item_id, data, complete=lambda values: _completion(None, values))


def item_update(*, user: User, item_id: UUID, base: BaseVersion, data: dict[str, Any]) -> tuple[Item, bool]:
    with change_writer(user, personal=False) as writer:
        entity = owned_or_404(Item, user, item_id)  # first: another user's item is a 404, not a 400 on `list`
        if "list" in data:
            data = {**data, "list": owned_list(user, data["list"])}
        changes = changed_values(entity, data)
        if "status" in changes or "completed_at" in changes:
            changes = changed_values(
                entity, _completion(entity, {**changes, "status": data.get("status", entity.status)})
            )
        merged = versioned_update(writer, entity, base, changes)
    return entity, merged


def item_delete(*, user: User, item_id: UUID, base: BaseVersion) -> None:
    with change_writer(user, personal=False) as writer:
        versioned_delete(writer, owned_or_404(Item, user, item_id), base)
