from __future__ import annotations

from rest_framework import serializers


class DayCountSerializer(serializers.Serializer):
    date = serializers.DateField()
    count = serializers.IntegerField()


class RangeSerializer(serializers.Serializer):
    to = serializers.DateField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField()  # a keyword, so not a class attribute
        return fields


class ItemInsightsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    completed = serializers.IntegerField()
    completed_by_day = DayCountSerializer(many=True)
    overdue_open = serializers.IntegerField()


class StreakSerializer(serializers.Serializer):
    current = serializers.IntegerField()
    longest = serializers.IntegerField()


class FocusInsightsSerializer(serializers.Serializer):
    cards = serializers.IntegerField()
    planned = serializers.IntegerField()
    done = serializers.IntegerField()
    completion_rate = serializers.FloatField(help_text="done / planned, 0 when nothing was planned.")


class AntiTodoInsightsSerializer(serializers.Serializer):
    entries = serializers.IntegerField()
    by_day = DayCountSerializer(many=True)


class TopListSerializer(serializers.Serializer):
    list = serializers.UUIDField()
    name = serializers.CharField()
    completed = serializers.IntegerField()


class InsightsSerializer(serializers.Serializer):
    range = RangeSerializer()
    timezone = serializers.CharField()
    items = ItemInsightsSerializer()
    streak = StreakSerializer()
    focus = FocusInsightsSerializer()
    anti_todo = AntiTodoInsightsSerializer()
    top_lists = TopListSerializer(many=True)
