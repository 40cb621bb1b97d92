from __future__ import annotations

from rest_framework import serializers


class SearchResultSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["item", "list"])
    id = serializers.UUIDField()
    title = serializers.CharField(help_text="An item's title, or a list's name.")
    snippet = serializers.CharField(help_text="The matching text, its matching words marked with « and ».")
    list = serializers.UUIDField(allow_null=True, help_text="An item's list; null for a list.")
    workspace = serializers.UUIDField(allow_null=True, help_text="The workspace; null when personal.")
    score = serializers.FloatField(help_text="Relevance, higher is better (comparable within one answer).")


class SearchResultsSerializer(serializers.Serializer):
    results = SearchResultSerializer(many=True)
