from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.dates import DayField
from core.serializers import StrictSerializer
from focus import selectors
from focus.models import FocusCard, FocusCardItem
from focus.services import MAX_CARD_ITEMS
from sync.fields import api_fields


class FocusEntrySerializer(serializers.Serializer):
    """An entry as shown on the card: the item's live title, status, priority and due date."""

    item = serializers.UUIDField(source="item_id", read_only=True)
    title = serializers.CharField(source="item.title", read_only=True)
    status = serializers.CharField(source="item.status", read_only=True)
    priority = serializers.IntegerField(source="item.priority", read_only=True)
    due_date = serializers.DateField(source="item.due_date", read_only=True, allow_null=True)
    position = serializers.IntegerField(read_only=True)


class FocusCardSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()
    done_count = serializers.SerializerMethodField()

    class Meta:
        model = FocusCard
        fields = api_fields(FocusCard, "done_count")
        read_only_fields = fields

    def _entries(self, card: FocusCard) -> list[FocusCardItem]:
        # Read from the prefetch of focus.selectors (one query for the entries of every card shown).
        return list(card.entries.all())

    @extend_schema_field(FocusEntrySerializer(many=True))
    def get_items(self, card: FocusCard) -> list[dict[str, Any]]:
        return list(FocusEntrySerializer(self._entries(card), many=True).data)

    def get_done_count(self, card: FocusCard) -> int:
        return sum(1 for entry in self._entries(card) if entry.item.status == "done")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "uuid"},
            {
                "type": "object",
                "required": ["item"],
                "properties": {"item": {"type": "string", "format": "uuid"}},
                "description": "An entry as the card shows it; only its `item` is read.",
            },
        ]
    }
)
class ItemRefField(serializers.Field):
    """An item id; an entry object (`{"item": id, ...}`) as the card showed it is accepted too."""

    default_error_messages = {"invalid": "Must be an item id."}

    def to_internal_value(self, data: Any) -> UUID:
        if isinstance(data, dict):
            data = data.get("item")
        try:
            return UUID(str(data)) if isinstance(data, str) else self.fail("invalid")
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value: Any) -> str:
        return str(value)


def _items_field(required: bool) -> serializers.ListField:
    return serializers.ListField(child=ItemRefField(), max_length=MAX_CARD_ITEMS, required=required)


class FocusCardPutSerializer(StrictSerializer):
    id = serializers.UUIDField(required=False, help_text="Used when the card is created.")
    intention = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    items = _items_field(required=True)

    class Meta:
        ignored_fields = ["date", "source", "done_count"]


class FocusCardPatchSerializer(StrictSerializer):
    intention = serializers.CharField(max_length=500, required=False, allow_blank=True)
    items = _items_field(required=False)

    class Meta:
        ignored_fields = ["id", "date", "source", "done_count"]


class FocusCardGenerateSerializer(StrictSerializer):
    date = DayField(required=False, help_text="Default: today in the user's time zone.")
    size = serializers.IntegerField(
        min_value=1, max_value=10, required=False, help_text="Default: preferences.focus_size, else 3."
    )
    regenerate = serializers.BooleanField(required=False, default=False)


class FocusCardSyncSerializer(StrictSerializer):
    """A card pushed by sync (`focus_card`): `items` are item ids in order."""

    id = serializers.UUIDField(required=False)
    date = DayField()
    intention = serializers.CharField(max_length=500, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=FocusCard.Source.choices, required=False)  # type: ignore[assignment]
    items = _items_field(required=False)

    class Meta:
        ignored_fields = ["done_count"]


def card_representation(card: FocusCard) -> dict[str, Any]:
    """What `GET focus-card` answers (version, entries with titles, done_count): the REST answers, push
    results and conflicts."""
    return dict(FocusCardSerializer(selectors.card_by_id(card.user_id, card.pk)).data)
