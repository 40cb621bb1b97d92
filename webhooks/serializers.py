from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import StrictModelSerializer, StrictSerializer
from webhooks.models import ALL_EVENTS, EVENT_TYPES, Delivery, Endpoint

URL_HELP = "https only; its host must resolve to public addresses (checked again at every delivery)."
EVENTS_HELP = f'Event types ({", ".join(EVENT_TYPES)}), or ["*"] for all of them.'


class EventsField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.ChoiceField(choices=[*EVENT_TYPES, ALL_EVENTS]),
            allow_empty=False,
            max_length=len(EVENT_TYPES),
            help_text=EVENTS_HELP,
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> list[str]:
        events = list(dict.fromkeys(super().to_internal_value(data)))
        if ALL_EVENTS in events and len(events) > 1:
            raise serializers.ValidationError('"*" stands alone: it means every event type.')
        return events


class EndpointSerializer(StrictModelSerializer):
    """An endpoint as listed: never its secret, which is shown once."""

    events = serializers.ListField(child=serializers.CharField(), read_only=True, help_text=EVENTS_HELP)

    class Meta:
        model = Endpoint
        fields = ["id", "url", "events", "active", "created_at"]
        read_only_fields = fields


class EndpointCreatedSerializer(EndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_...). Shown only in this answer."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointCreateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000, help_text=URL_HELP)
    events = EventsField()


class EndpointUpdateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000, required=False, help_text=URL_HELP)
    events = EventsField(required=False)
    active = serializers.BooleanField(required=False, help_text="Off: nothing is sent; on again: resumes.")


class DeliverySerializer(StrictModelSerializer):
    event = serializers.CharField(source="event.type", read_only=True, help_text="The event's type.")

    class Meta:
        model = Delivery
        fields = ["id", "event", "status", "attempts", "last_status_code", "next_attempt_at", "created_at"]
        read_only_fields = fields
