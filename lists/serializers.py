from __future__ import annotations

import re
from datetime import time
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import DateTimeField, StrictModelSerializer, StrictSerializer, UUIDField
from lists.models import Item, List
from lists.recurrence import MODES, RuleError, parse_rule
from lists.selectors import with_open_count
from sync.fields import SERVER_FIELDS, api_fields, entity_data

OWNED_READ_ONLY = list(SERVER_FIELDS)

_MINUTE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@extend_schema_field(
    {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:30", "nullable": True}
)
class MinuteField(serializers.Field):
    """A wall-clock time as `HH:MM` (00:00..23:59), exactly: no seconds, no offset, no single-digit hour."""

    default_error_messages = {"invalid": "Enter a time as HH:MM (00:00 to 23:59)."}

    def to_internal_value(self, data: Any) -> time:
        if not isinstance(data, str) or not _MINUTE.match(data):
            self.fail("invalid")
        return time(int(data[:2]), int(data[3:]))

    def to_representation(self, value: time) -> str:
        return value.strftime("%H:%M")


class ListSerializer(StrictModelSerializer):
    id = UUIDField(required=False)
    color = serializers.RegexField(
        r"^#[0-9A-Fa-f]{6}$",
        allow_null=True,
        required=False,
        default=None,
        error_messages={"invalid": "Must be a color like #1A2B3C, or null."},
    )
    open_count = serializers.IntegerField(read_only=True, default=0)
    # A workspace is named by id and checked by the services (a 404 for one the caller is not in, as for
    # one that does not exist). Absent from an update, the list stays where it is.
    workspace = UUIDField(source="workspace_id", required=False, allow_null=True)

    class Meta:
        model = List
        fields = api_fields(List, "open_count")
        read_only_fields = OWNED_READ_ONLY
        ignored_fields = ["open_count"]
        extra_kwargs = {"position": {"min_value": -(2**31), "max_value": 2**31 - 1}}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # As for items: the declared fields' output, built directly (tests/lists/test_representation.py).
        if isinstance(instance, List):
            return entity_data(instance, open_count=int(getattr(instance, "open_count", 0)))
        return super().to_representation(instance)

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        if "workspace_id" in values:
            values["workspace"] = values.pop("workspace_id")
        return values


class RecurrenceSerializer(StrictSerializer):
    """`{rule, mode}`: the rule checked against the RRULE subset (lists.recurrence) and answered in its one
    written form. Whether it has a date to come is the services' to say (it needs the user's today)."""

    rule = serializers.CharField(
        max_length=500,
        trim_whitespace=False,
        help_text="An RFC 5545 RRULE value, such as FREQ=WEEKLY;BYDAY=MO.",
    )
    mode = serializers.ChoiceField(choices=list(MODES))

    def validate_rule(self, value: str) -> str:
        try:
            return parse_rule(value).text()
        except RuleError as error:
            raise serializers.ValidationError(str(error)) from None

    def to_internal_value(self, data: Any) -> Any:
        return dict(super().to_internal_value(data))


class ItemSerializer(StrictModelSerializer):
    id = UUIDField(required=False)
    list = UUIDField(source="list_id")
    title = serializers.CharField(max_length=500)
    notes = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    priority = serializers.IntegerField(min_value=1, max_value=4, required=False, default=3)
    # Only with a `due_date` (the services check it against the stored date too).
    due_time = MinuteField(required=False, allow_null=True)
    completed_at = DateTimeField(required=False, allow_null=True)
    # Users are named by id, never looked up here (the services check who may be named, without telling
    # whether an account exists). Absent from an update, the assignee stays as it is.
    assignee = UUIDField(source="assignee_id", required=False, allow_null=True)
    recurrence = RecurrenceSerializer(required=False, allow_null=True)
    created_by = UUIDField(source="created_by_id", read_only=True, allow_null=True)
    completed_by = UUIDField(source="completed_by_id", read_only=True, allow_null=True)
    series = UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Item
        fields = api_fields(Item)
        read_only_fields = OWNED_READ_ONLY
        extra_kwargs = {"position": {"min_value": -(2**31), "max_value": 2**31 - 1}}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # The hot path of the items page and of sync: the same output as the declared fields give
        # (tests/lists/test_representation.py holds them equal), without walking the fields per item.
        if isinstance(instance, Item):
            return entity_data(instance)
        return super().to_representation(instance)

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        if "list_id" in values:
            values["list"] = values.pop("list_id")
        if "assignee_id" in values:
            values["assignee"] = values.pop("assignee_id")
        return values


class AgendaEntrySerializer(ItemSerializer):
    """An entry of the agenda (for the schema): an item, or an occurrence to come (`projected`), which has
    no version, timestamps, creator or completion yet."""

    projected = serializers.BooleanField(read_only=True)
    version = serializers.IntegerField(read_only=True, allow_null=True)
    created_at = DateTimeField(read_only=True, allow_null=True)
    updated_at = DateTimeField(read_only=True, allow_null=True)

    class Meta(ItemSerializer.Meta):
        fields = [*api_fields(Item), "projected"]


def list_representation(entity: List) -> dict[str, Any]:
    """What `GET lists/{id}` answers, open_count included: the REST answers, push results and conflicts."""
    return dict(ListSerializer(with_open_count(entity)).data)


def item_representation(entity: Item) -> dict[str, Any]:
    """What `GET items/{id}` answers: the REST answers, push results and conflicts."""
    return entity_data(entity)
