"""Writes of lists and items (DESIGN convention 3): ownership of references, versions, change records."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Model
from django.http import Http404
from django.utils import timezone

from core.problems import IdConflict, validation_error
from core.versioning import BaseVersion
from lists.models import Item, List
from sync.services import ChangeWriter, change_writer, check_base, check_delete_base

# API field name -> model attribute, where they differ.
_ATTRS = {"list": "list_id"}


def _attr(field: str) -> str:
    return _ATTRS.get(field, field)


def _model_values(data: dict[str, Any]) -> dict[str, Any]:
    """API values to model attribute values (a referenced list becomes its id)."""
    return {_attr(k): (v.pk if isinstance(v, Model) else v) for k, v in data.items()}


def _existing_for_create(model: type[Any], user: Any, entity_id: UUID, values: dict[str, Any]) -> Any | None:
    """A retried create answers the existing entity; the id with other content, or anyone else's, is 409."""
    existing = model.objects.filter(pk=entity_id).first()
    if existing is None:
        return None
    if existing.user_id != user.pk or any(getattr(existing, k) != v for k, v in values.items()):
        raise IdConflict()
    return existing


def _changes(entity: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The API fields whose new value differs from the stored one."""
    return {
        k: v for k, v in values.items() if getattr(entity, _attr(k)) != (v.pk if isinstance(v, Model) else v)
    }


def _apply(writer: ChangeWriter, entity: Any, base: BaseVersion, changes: dict[str, Any]) -> bool:
    merged = check_base(entity, base, changes.keys())
    if changes:
        for key, value in _model_values(changes).items():
            setattr(entity, key, value)
        writer.save(entity, changes.keys())
    return merged


def _owned(model: type[Any], user: Any, entity_id: UUID) -> Any:
    entity = model.objects.for_user(user).filter(pk=entity_id).first()
    if entity is None:
        raise Http404
    return entity


def owned_list(user: Any, list_id: UUID | List) -> List:
    """One of the user's lists, as a reference from another entity: anything else is a 400 that does not
    say whether the list exists."""
    list_pk = list_id.pk if isinstance(list_id, List) else list_id
    found = List.objects.for_user(user).filter(pk=list_pk).first()
    if found is None:
        raise validation_error({"list": ["No such list."]})
    return found


# --- lists ------------------------------------------------------------------------------------------------


def list_create(*, user: Any, data: dict[str, Any], list_id: UUID | None = None) -> tuple[List, bool]:
    with change_writer(user) as writer:
        if list_id is not None:
            existing = _existing_for_create(List, user, list_id, _model_values(data))
            if existing is not None:
                return existing, False
        entity = List(id=list_id, **data) if list_id else List(**data)
        writer.save(entity, ["name", "color", "position", "archived"], created=True)
    return entity, True


def list_update(*, user: Any, list_id: UUID, base: BaseVersion, data: dict[str, Any]) -> tuple[List, bool]:
    with change_writer(user) as writer:
        entity = _owned(List, user, list_id)
        merged = _apply(writer, entity, base, _changes(entity, data))
    return entity, merged


def list_delete(*, user: Any, list_id: UUID, base: BaseVersion) -> None:
    """Deletes the list and its items; each item's deletion is recorded for sync."""
    with change_writer(user) as writer:
        entity = _owned(List, user, list_id)
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


def item_create(*, user: Any, data: dict[str, Any], item_id: UUID | None = None) -> tuple[Item, bool]:
    with change_writer(user) as writer:
        data = {**data, "list": owned_list(user, data["list"])}
        if item_id is not None:
            existing = _existing_for_create(Item, user, item_id, _model_values(data))
            if existing is not None:
                return existing, False
        data = _completion(None, data)
        entity = Item(id=item_id, **data) if item_id else Item(**data)
        writer.save(
            entity, [*data.keys(), "status", "priority", "notes", "position", "due_date"], created=True
        )
    return entity, True


def item_update(*, user: Any, item_id: UUID, base: BaseVersion, data: dict[str, Any]) -> tuple[Item, bool]:
    with change_writer(user) as writer:
        entity = _owned(Item, user, item_id)  # first: another user's item is a 404, not a 400 on `list`
        if "list" in data:
            data = {**data, "list": owned_list(user, data["list"])}
        changes = _changes(entity, data)
        if "status" in changes or "completed_at" in changes:
            changes = _changes(
                entity, _completion(entity, {**changes, "status": data.get("status", entity.status)})
            )
        merged = _apply(writer, entity, base, changes)
    return entity, merged


def item_delete(*, user: Any, item_id: UUID, base: BaseVersion) -> None:
    with change_writer(user) as writer:
        entity = _owned(Item, user, item_id)
        check_delete_base(entity, base)
        writer.delete(entity)
