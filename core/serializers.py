"""Serializer plumbing: bodies are checked against the fields a resource has (no silent mass assignment)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.db import models
from rest_framework import serializers

# Members a client may send back as it received them; they are ignored (docs/api/README.md).
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
            wrong = {
                key: [f"Must be {expected}."]
                for key, value in data.items()
                if key in known and value is not None
                for expected in [_json_type_error(self.fields[key], value)]  # type: ignore[attr-defined]
                if expected
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)  # type: ignore[misc]


# DRF coerces across JSON types (0 to False, "3" to 3, 7 to "7", false to the UUID 0); docs/api/errors.md
# says wrong types are a 400. Checked before the fields see the value. Order matters: subclasses first.
_JSON_TYPES: list[tuple[type[serializers.Field], tuple[type, ...], str]] = [
    (serializers.BooleanField, (bool,), "true or false"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.UUIDField, (str,), "a UUID string"),
    (serializers.DateTimeField, (str,), "an RFC 3339 date-time string"),
    (serializers.DateField, (str,), "a YYYY-MM-DD string"),
    (serializers.CharField, (str,), "a string"),
    (serializers.ChoiceField, (str, int), "one of the choices"),
]


def _json_type_error(field: serializers.Field, value: Any) -> str | None:
    if field.read_only:
        return None
    for field_class, types, expected in _JSON_TYPES:
        if isinstance(field, field_class):
            if isinstance(value, bool) and bool not in types:
                return expected
            return None if isinstance(value, types) else expected
    return None


_RFC_3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$")


class UUIDField(serializers.UUIDField):
    """A UUID given as a string. DRF's own also takes an integer (`123` as UUID(int=123)): a wrong type."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class DateTimeField(serializers.DateTimeField):
    """RFC 3339 in, RFC 3339 in UTC out (docs/api/README.md).

    Input needs a date, a time and an offset: a bare date or a time without offset names no instant.
    Output is `isoformat` with `Z`, which keeps four year digits where `strftime("%Y")` gives `1-01-01`.
    """

    def to_internal_value(self, value: Any) -> datetime:
        if not isinstance(value, str) or not _RFC_3339.match(value):
            self.fail("invalid", format="YYYY-MM-DDThh:mm:ss[.ffffff]Z or with an offset such as +02:00")
        return super().to_internal_value(value)

    def to_representation(self, value: Any) -> Any:
        if not isinstance(value, datetime):
            return value
        return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeField,
        models.UUIDField: UUIDField,
    }
