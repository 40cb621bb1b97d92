"""Reminders and notifications as sync types, and the hooks that keep them consistent with the items,
memberships and profiles they depend on (reminders.hooks)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from reminders import hooks, services
from reminders.models import Notification, Reminder
from reminders.serializers import (
    NotificationSerializer,
    ReminderSerializer,
    notification_representation,
    reminder_representation,
)
from sync.registry import (
    FeedColumns,
    SyncType,
    on_changes,
    on_delete,
    on_holder_spaces,
    register,
    write_services,
)


def _notification_update(*, entity_id: UUID, **arguments: Any) -> tuple[Notification, bool]:
    return services.notification_update(notification_id=entity_id, **arguments)


def register_all() -> None:
    from lists.services import on_items_moved

    register(
        SyncType(
            model=Reminder,
            serializer=ReminderSerializer,
            represent=reminder_representation,
            # `fires_at` is derived (reminders.schedule_services): the feed sends the reminder's own fields.
            feed_columns=FeedColumns.of(Reminder),
            export_section="reminders",
            import_server_fields=("fired_at",),
            **write_services(
                id_name="reminder_id",
                create=services.reminder_create,
                update=services.reminder_update,
                delete=services.reminder_delete,
            ),
        )
    )
    register(
        SyncType(
            model=Notification,
            serializer=NotificationSerializer,
            represent=notification_representation,
            feed_columns=FeedColumns.of(Notification),
            update=_notification_update,
        )
    )
    on_changes(hooks.on_changes)
    on_delete("item", hooks.on_items_deleted)
    on_holder_spaces("item", hooks.reminder_spaces_of_items)
    on_items_moved(hooks.on_items_moved)
    on_delete("member", hooks.on_members_deleted)
    on_delete("workspace", hooks.on_workspaces_deleted)
