"""Writes of reminders and notifications (docs/architecture.md, convention 3).

Both are personal: they live in their owner's personal space and every write locks it. A reminder names an
item the owner can see (a viewer may set reminders on a workspace's items); its write locks that item's
space too, with the personal one in one go (id order), so it cannot race the item's deletion or the
owner's removal from the workspace, which lock the same two.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from accounts.models import User as AccountUser
from core.models import User
from core.problems import validation_error
from core.versioning import BaseVersion
from lists.models import Item
from reminders import schedule_services as schedule
from reminders.models import MAX_PER_ITEM, Notification, Reminder
from sync.fields import model_values
from sync.services import (
    ChangeWriter,
    change_writer,
    changed_values,
    check_base,
    create_once,
    owned_or_404,
    versioned_delete,
)
from sync.spaces import personal_space_id, visible_space_ids

# What arms a reminder again after it fired (docs/api/reminders.md).
TIMING_FIELDS = ("item", "remind_at", "minutes_before")


def _item_id(value: Any) -> UUID:
    return value.pk if isinstance(value, Item) else value


def _peek_item_space(item_id: Any) -> int | None:
    return Item.objects.filter(pk=_item_id(item_id)).values_list("space_id", flat=True).first()


def _lock(writer: ChangeWriter, *item_ids: Any) -> None:
    """The owner's personal space and the spaces of the items named, in one go (id order)."""
    spaces = [_peek_item_space(item_id) for item_id in item_ids if item_id is not None]
    writer.lock(writer.personal_space_id, *(space for space in spaces if space is not None))


def _visible_item(user: User, item_id: Any) -> Item:
    """An item the user sees, read under its space's lock; anything else is a 400 that reveals nothing."""
    item = Item.objects.filter(pk=_item_id(item_id), space_id__in=visible_space_ids(user)).first()
    if item is None:
        raise validation_error({"item": ["No such item."]})
    return item


def _one_timing(data: dict[str, Any], current: Reminder | None) -> dict[str, Any]:
    """Exactly one of `remind_at` and `minutes_before`. Setting one on an update clears the other, so a
    client switches a reminder between absolute and relative by sending the one it wants."""
    data = dict(data)
    if data.get("remind_at") is not None and "minutes_before" not in data:
        data["minutes_before"] = None
    if data.get("minutes_before") is not None and "remind_at" not in data:
        data["remind_at"] = None
    remind_at = data.get("remind_at", current.remind_at if current else None)
    minutes_before = data.get("minutes_before", current.minutes_before if current else None)
    if (remind_at is None) == (minutes_before is None):
        message = "Give either remind_at or minutes_before (one of them, not both)."
        raise validation_error({"remind_at": [message], "minutes_before": [message]})
    return data


def _timing(user: User, item: Item, remind_at: Any, minutes_before: int | None) -> Any:
    """`fires_at` for these values; a relative reminder needs its item's due date and time."""
    if minutes_before is not None and (item.due_date is None or item.due_time is None):
        raise validation_error(
            {"minutes_before": ["A reminder before the item is due needs the item's due_date and due_time."]}
        )
    return schedule.fires_at(
        remind_at=remind_at,
        minutes_before=minutes_before,
        due_date=item.due_date,
        due_time=item.due_time,
        timezone_name=user.timezone,
    )


def _check_room(user: User, item: Item, exclude: UUID | None = None) -> None:
    existing = Reminder.objects.filter(user=user, item=item)
    if exclude is not None:
        existing = existing.exclude(pk=exclude)
    if existing.count() >= MAX_PER_ITEM:
        raise validation_error({"item": [f"At most {MAX_PER_ITEM} reminders per item."]})


def reminder_create(
    *, user: User, data: dict[str, Any], reminder_id: UUID | None = None
) -> tuple[Reminder, bool]:
    """A reminder on an item the user sees. A retried create with the same id and content answers the
    existing reminder; other content, or another user's id, is 409 `id_conflict`. Only an import gives
    `fired_at` (the document's: a reminder that fired before the export is created fired, and does not
    fire again)."""
    data = dict(data)
    fired_at = data.pop("fired_at", None)
    with change_writer(user, personal=False) as writer:
        _lock(writer, data.get("item"))
        item = _visible_item(user, data.get("item"))
        data = {"remind_at": None, "minutes_before": None, **_one_timing(data, None), "item": item}
        if reminder_id is not None and Reminder.objects.filter(pk=reminder_id).exists():
            return create_once(writer, Reminder, reminder_id, data)  # the retry, or 409
        at = _timing(user, item, data["remind_at"], data["minutes_before"])
        _check_room(user, item)
        return create_once(
            writer,
            Reminder,
            reminder_id,
            data,
            complete=lambda v: {**v, "fires_at": at, "fired_at": fired_at},
        )


def reminder_update(
    *, user: User, reminder_id: UUID, base: BaseVersion, data: dict[str, Any]
) -> tuple[Reminder, bool]:
    """Changes a reminder. A new item, `remind_at` or `minutes_before` arms it again when it had fired
    (`fired_at` cleared in the same version, without counting as a field the client changed: a client that
    edited the reminder before it fired merges over the server's firing instead of conflicting). An
    import's `fired_at` is not applied to an existing reminder: its own firing stands."""
    data = {name: value for name, value in data.items() if name != "fired_at"}
    with change_writer(user, personal=False) as writer:
        current_item = Reminder.objects.filter(pk=reminder_id).values_list("item_id", flat=True).first()
        _lock(writer, current_item, data.get("item"))
        reminder = owned_or_404(Reminder, user, reminder_id)
        if "item" in data:
            data = {**data, "item": _visible_item(user, data["item"])}
        data = _one_timing(data, reminder)
        changes = changed_values(reminder, data)
        merged = check_base(reminder, base, changes.keys())
        if not changes:
            return reminder, merged
        for attribute, value in model_values(Reminder, changes).items():
            setattr(reminder, attribute, value)
        item = data["item"] if "item" in changes else Item.objects.get(pk=reminder.item_id)
        if "item" in changes:
            _check_room(user, item, exclude=reminder.pk)
        fields = list(changes)
        if any(name in changes for name in TIMING_FIELDS):
            reminder.fires_at = _timing(user, item, reminder.remind_at, reminder.minutes_before)
            reminder.skipped_at = None
            if reminder.fired_at is not None:
                reminder.fired_at = None
                fields.append("fired_at")
        writer.save(reminder, fields)
    return reminder, merged


def reminder_delete(*, user: User, reminder_id: UUID, base: BaseVersion) -> None:
    with change_writer(user) as writer:
        versioned_delete(writer, owned_or_404(Reminder, user, reminder_id), base)


def reminders_remove(writer: ChangeWriter, reminders: Iterable[tuple[UUID, int, int]]) -> None:
    """Deletes reminders (id, version, space) as the writer's changes, a tombstone each in its owner's
    space. The write locked those spaces up front (sync.registry.on_holder_spaces, or the removal of a
    member, which locks theirs); `lock` only takes one it did not name."""
    by_space: dict[int, list[tuple[UUID, int]]] = {}
    for reminder_id, version, space_id in reminders:
        by_space.setdefault(space_id, []).append((reminder_id, version))
    if not by_space:
        return
    writer.lock(*by_space)
    for space_id, entities in by_space.items():
        writer.record_deletions(Reminder.sync_type, entities, space_id=space_id)
    Reminder.objects.filter(pk__in=[pk for entities in by_space.values() for pk, _ in entities]).delete()


# --- notifications -----------------------------------------------------------------------------------------


def notification_create(*, user: User, kind: str, data: dict[str, Any]) -> Notification:
    """A notification for the user, made by the server (never through the API)."""
    with change_writer(user) as writer:
        notification = Notification(kind=kind, data=data)
        writer.save(notification, created=True)
    return notification


def notification_update(
    *, user: User, notification_id: UUID, base: BaseVersion, data: dict[str, Any]
) -> tuple[Notification, bool]:
    """`read_at` is the one field a client changes (a push's update)."""
    with change_writer(user) as writer:
        notification = owned_or_404(Notification, user, notification_id)
        changes = changed_values(notification, {k: v for k, v in data.items() if k == "read_at"})
        merged = check_base(notification, base, changes.keys())
        if changes:
            notification.read_at = changes["read_at"]
            writer.save(notification, ["read_at"])
    return notification, merged


def notification_mark(
    *, user: User, notification_id: UUID, read: bool, base: BaseVersion | None = None
) -> Notification:
    """`PATCH notifications/{id} {read}`: read now (an already read one keeps its time), or unread. It takes
    no version (marking read is the same whoever did it first); an If-Match is honoured when sent."""
    with change_writer(user) as writer:
        notification = owned_or_404(Notification, user, notification_id)
        if base is not None:
            check_base(notification, base, ["read_at"])
        wanted = (notification.read_at or timezone.now()) if read else None
        if wanted != notification.read_at:
            notification.read_at = wanted
            writer.save(notification, ["read_at"])
    return notification


def notifications_read_all(*, user: User) -> int:
    """Marks every unread notification of the user read, as one write; returns how many."""
    with change_writer(user) as writer:
        unread = list(Notification.objects.filter(user=user, read_at__isnull=True))
        if not unread:
            return 0
        now = timezone.now()
        for notification in unread:
            notification.read_at = now
        writer.stamp_many(unread, ["read_at"])
        _store_read(unread, now)
    return len(unread)


def _store_read(notifications: list[Notification], now: Any) -> None:
    for notification in notifications:
        notification.updated_at = now
    Notification.objects.bulk_update(
        notifications, ["read_at", "version", "change_number", "updated_at"], batch_size=500
    )


def notifications_prune(*, user_ids: Iterable[Any] | None = None, before: Any) -> int:
    """Deletes notifications made before `before`, each with a tombstone in its owner's space so replicas
    drop them too; one write per owner. Returns how many."""
    old = Notification.objects.filter(created_at__lt=before)
    if user_ids is not None:
        old = old.filter(user_id__in=list(user_ids))
    owners = list(old.values_list("user_id", flat=True).distinct()[:500])
    removed = 0
    users = {user.pk: user for user in AccountUser.objects.filter(pk__in=owners)}
    for owner_id in owners:
        user = users.get(owner_id)
        if user is None:
            continue
        with change_writer(user) as writer:
            rows = list(
                Notification.objects.filter(Q(user_id=owner_id) & Q(created_at__lt=before)).values_list(
                    "pk", "version"
                )
            )
            writer.record_deletions(Notification.sync_type, rows, space_id=personal_space_id(user))
            Notification.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
            removed += len(rows)
    return removed
