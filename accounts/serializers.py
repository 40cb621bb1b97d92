from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import User
from accounts.validators import validate_timezone
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
            raise serializers.ValidationError("An account with this email already exists.")
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


class AccountDeleteSerializer(StrictSerializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
