from __future__ import annotations

from typing import Any

from rest_framework import serializers

from antitodo.models import AntiTodoEntry
from core.dates import DayField
from core.serializers import StrictModelSerializer
from sync.fields import SERVER_FIELDS, api_fields, entity_data

OWNED_READ_ONLY = list(SERVER_FIELDS)


class AntiTodoEntrySerializer(StrictModelSerializer):
    id = serializers.UUIDField(required=False)
    date = DayField(required=False, help_text="Default on create: today in the user's time zone.")
    title = serializers.CharField(max_length=500)
    note = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    item = serializers.UUIDField(source="item_id", required=False, allow_null=True, default=None)

    class Meta:
        model = AntiTodoEntry
        fields = api_fields(AntiTodoEntry)
        read_only_fields = OWNED_READ_ONLY

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        if "item_id" in values:
            values["item"] = values.pop("item_id")
        return values


def entry_representation(entry: AntiTodoEntry) -> dict[str, Any]:
    """What `GET anti-todo/{id}` answers: the REST answers, push results and conflicts."""
    return entity_data(entry)
