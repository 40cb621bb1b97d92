from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone as dj_timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ApiKey, User
from accounts.validators import EMAIL_TAKEN, validate_timezone
from core.serializers import StrictModelSerializer, StrictSerializer


class UserSerializer(StrictModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "display_name", "timezone", "date_joined"]
        read_only_fields = fields


class RegisterSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    display_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    timezone = serializers.CharField(
        max_length=64, required=False, default="UTC", validators=[validate_timezone]
    )

    def validate_email(self, value: str) -> str:
        value = User.objects.normalize_email(value)
        if User.objects.filter(email=value).exists():
            raise serializers.ValidationError(EMAIL_TAKEN)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = User(email=attrs["email"], display_name=attrs.get("display_name", ""))
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": list(error.messages)}) from error
        return attrs


class TokenObtainSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True)
    refresh = serializers.CharField(read_only=True)


class RegisterResponseSerializer(TokenPairSerializer):
    user = UserSerializer(read_only=True)


class RefreshSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=4096)


class PasswordChangeSerializer(StrictSerializer):
    current_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    # Optional: the refresh token of the device making the change, which stays valid.
    refresh = serializers.CharField(max_length=4096, required=False, write_only=True)


class PasswordResetSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(StrictSerializer):
    token = serializers.CharField(max_length=512, trim_whitespace=True)
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)


# A key is read-only or read-write (docs/api/authentication.md): `["read"]` or `["read", "write"]`.
@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "enum": [choice for choice, _label in ApiKey.Scope.choices]},
        "minItems": 1,
        "maxItems": 2,
        "uniqueItems": True,
        "description": '`["read"]` or `["read", "write"]`; `["write"]` alone is a 400.',
    }
)
class ScopesField(serializers.ListField):
    pass


class ApiKeySerializer(StrictModelSerializer):
    """A key as listed. `is_admin` is not here: only staff set it, in the admin."""

    scopes = ScopesField(
        child=serializers.ChoiceField(choices=ApiKey.Scope.choices), min_length=1, max_length=2
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "expires_at", "last_used_at", "created_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "last_used_at", "created_at", "revoked_at"]

    def validate_scopes(self, value: list[str]) -> list[str]:
        if set(value) not in ({"read"}, {"read", "write"}) or len(set(value)) != len(value):
            raise serializers.ValidationError('Either ["read"] or ["read", "write"].')
        return value

    def validate_expires_at(self, value: datetime | None) -> datetime | None:
        if value is not None and value <= dj_timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret. Shown only in this answer.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class AccountDeleteSerializer(StrictSerializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
