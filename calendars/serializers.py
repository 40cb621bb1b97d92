from __future__ import annotations

from rest_framework import serializers

from calendars.models import CalendarFeed
from core.serializers import StrictModelSerializer, StrictSerializer


class CalendarFeedSerializer(StrictModelSerializer):
    """A feed as listed: never its URL, whose secret is shown once."""

    class Meta:
        model = CalendarFeed
        fields = ["id", "list", "created_at"]
        read_only_fields = fields


class CalendarFeedCreateSerializer(StrictSerializer):
    list = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="One list's feed; null or absent: all lists."
    )


class CalendarFeedCreatedSerializer(CalendarFeedSerializer):
    url = serializers.CharField(
        read_only=True,
        help_text="The feed's address, with its secret token. Shown only in this answer.",
    )

    class Meta(CalendarFeedSerializer.Meta):
        fields = [*CalendarFeedSerializer.Meta.fields, "url"]
        read_only_fields = fields
