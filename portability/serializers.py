"""The shapes of `user/import`'s request and answer (the document itself is checked by
services.plan_import)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import StrictSerializer
from portability import services


def _entity_list(what: str) -> dict[str, Any]:
    return {
        "type": "array",
        "description": f"{what}, each as in GET user/export: its fields, with `id`.",
        "items": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string", "format": "uuid"}},
        },
    }


# The document is checked whole by services.plan_import (so that every error names its place); this
# is the shape it accepts: what GET user/export answers.
EXPORT_DOCUMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A `daymark-export` document, as GET user/export answers it. References (an item's "
    "`list`, a card's `items`, an entry's `item`) must name entities of the same document.",
    "properties": {
        "format": {"type": "string", "enum": [services.FORMAT]},
        "format_version": {"type": "integer", "enum": [services.FORMAT_VERSION]},
        "exported_at": {"description": "When the export was made; informational, not read."},
        "profile": {
            "type": "object",
            "nullable": True,
            "description": "`display_name, timezone, preferences, onboarding` as in user/profile; "
            "other members are ignored.",
        },
        "lists": _entity_list("Lists"),
        "items": _entity_list("Items"),
        "focus_cards": _entity_list("Focus cards"),
        "anti_todo": _entity_list("Anti-todo entries"),
    },
    "required": ["format", "format_version"],
    "additionalProperties": False,
}


@extend_schema_field(EXPORT_DOCUMENT_SCHEMA)
class ExportDocumentField(serializers.JSONField):
    pass


class ImportSerializer(StrictSerializer):
    document = ExportDocumentField()
    mode = serializers.ChoiceField(choices=["merge", "replace"])


class ImportResultSerializer(serializers.Serializer):
    mode = serializers.CharField()
    imported = serializers.DictField(
        child=serializers.IntegerField(), help_text="Per section, the entities created or changed."
    )
    kept = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Per section, the entities the account already held as they were or newer (merge), "
        "left unchanged.",
    )
    replaced_ids = serializers.DictField(
        child=serializers.UUIDField(),
        help_text="Ids of the document that name another entity here: taken by another account (a new id), "
        "or a focus card of a day that already has one (that card's id).",
    )
