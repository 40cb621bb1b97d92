"""Serializer plumbing: bodies are checked against the fields a resource has (no silent mass assignment)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

# Members a client may send back as it received them; they are ignored (API.md section 1).
IGNORED_ON_WRITE = frozenset({"user", "created_at", "updated_at", "version"})


class StrictFieldsMixin:
    """Rejects unknown members with 400 `validation_error`; read-only members are accepted and ignored.

    Subclasses list extra ignorable members (derived values such as `open_count`) in `Meta.ignored_fields`.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(self.fields)  # type: ignore[attr-defined]
            meta = getattr(self, "Meta", None)
            ignored = IGNORED_ON_WRITE | set(getattr(meta, "ignored_fields", ()))
            unknown = sorted(str(key) for key in data if key not in known and key not in ignored)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass
