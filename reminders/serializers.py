from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import DateTimeField, StrictModelSerializer, StrictSerializer, UUIDField
from reminders.models import MAX_MINUTES_BEFORE, Notification, Reminder
from sync.fields import SERVER_FIELDS, api_fields, entity_data, timestamp_text


class ReminderSerializer(StrictModelSerializer):
    id = UUIDField(required=False)
    item = UUIDField(source="item_id")
    remind_at = DateTimeField(required=False, allow_null=True)
    minutes_before = serializers.IntegerField(
        min_value=0, max_value=MAX_MINUTES_BEFORE, required=False, allow_null=True
    )
    fired_at = DateTimeField(read_only=True, allow_null=True)
    fires_at = DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When it fires (derived: recomputed when the item's due date or time, or your time zone, "
        "changes; left out of sync data). Null for a relative reminder whose item has no due time.",
    )

    class Meta:
        model = Reminder
        fields = api_fields(Reminder, "fires_at")
        read_only_fields = list(SERVER_FIELDS)
        ignored_fields = ["fires_at", "fired_at"]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Reminder):
            return reminder_representation(instance)
        return super().to_representation(instance)

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        if "item_id" in values:
            values["item"] = values.pop("item_id")
        return values


def reminder_representation(reminder: Reminder) -> dict[str, Any]:
    """What `GET reminders/{id}` answers: the REST answers, push results and conflicts."""
    return entity_data(reminder, fires_at=timestamp_text(reminder.fires_at))


class NotificationSerializer(StrictModelSerializer):
    """The entity; a push may change `read_at` only."""

    id = UUIDField(required=False)
    read_at = DateTimeField(required=False, allow_null=True)

    class Meta:
        model = Notification
        fields = api_fields(Notification)
        read_only_fields = [*SERVER_FIELDS, "kind", "data"]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        if isinstance(instance, Notification):
            return notification_representation(instance)
        return super().to_representation(instance)


def notification_representation(notification: Notification) -> dict[str, Any]:
    return entity_data(notification)


class NotificationReadSerializer(StrictSerializer):
    read = serializers.BooleanField(
        help_text="true marks it read now (a read one keeps its time); false unread."
    )


class ReadAllSerializer(StrictSerializer):
    read = serializers.IntegerField(read_only=True, help_text="How many were marked read.")
