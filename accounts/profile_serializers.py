from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import Profile
from accounts.profile_services import ONBOARDING_STEPS, onboarding_of, preferences_of
from accounts.validators import validate_timezone
from core.serializers import DateTimeField, StrictSerializer


class PreferencesSerializer(StrictSerializer):
    focus_size = serializers.IntegerField(min_value=1, max_value=10, required=False)
    focus_auto_generate = serializers.BooleanField(required=False)
    focus_time = serializers.RegexField(
        r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        required=False,
        help_text="`HH:MM`, the user's local time at which a focus card is generated when "
        "`focus_auto_generate` is on.",
        error_messages={"invalid": "Enter a time as HH:MM (00:00 to 23:59)."},
    )
    reminder_email = serializers.BooleanField(
        required=False, help_text="Email the user when a reminder fires (as well as the notification)."
    )
    week_start = serializers.IntegerField(
        min_value=0, max_value=6, required=False, help_text="0 is Monday, 6 is Sunday."
    )


class OnboardingSerializer(StrictSerializer):
    completed_steps = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ONBOARDING_STEPS)),
        max_length=len(ONBOARDING_STEPS) * 2,
        required=False,
    )
    # RFC 3339 with an offset: a bare date or a naive time names no instant (docs/api/README.md).
    completed_at = DateTimeField(allow_null=True, required=False)


class ProfileSerializer(StrictSerializer):
    """GET and PATCH `user/profile`. `email`, `date_joined`, `id` and the version fields are read-only
    (sent back, they are ignored)."""

    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    display_name = serializers.CharField(
        source="user.display_name", max_length=100, allow_blank=True, required=False
    )
    timezone = serializers.CharField(
        source="user.timezone", max_length=64, required=False, validators=[validate_timezone]
    )
    preferences = PreferencesSerializer(required=False)
    onboarding = OnboardingSerializer(required=False)
    date_joined = serializers.DateTimeField(source="user.date_joined", read_only=True)
    version = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    class Meta:
        ignored_fields = ["id", "email", "date_joined"]

    def to_representation(self, instance: Profile) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["preferences"] = preferences_of(instance)
        data["onboarding"] = onboarding_of(instance)
        return data

    def to_internal_value(self, data: Any) -> Any:
        values = super().to_internal_value(data)
        user_values = values.pop("user", {})
        return {**user_values, **values}


def profile_representation(profile: Profile) -> dict[str, Any]:
    """What `GET user/profile` answers: the REST answers, push results and conflicts."""
    return dict(ProfileSerializer(profile).data)
