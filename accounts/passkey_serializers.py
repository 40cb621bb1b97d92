"""Bodies of the passkey endpoints (docs/api/passkeys.md). The credential is the authenticator's answer as
`PublicKeyCredential.toJSON()` gives it (binary members in base64url); py_webauthn reads it."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Passkey
from core.serializers import StrictModelSerializer, StrictSerializer, UUIDField


@extend_schema_field(OpenApiTypes.OBJECT)
class CredentialField(serializers.DictField):
    """A JSON object; what is inside is the authenticator's and checked by the ceremony."""

    def to_internal_value(self, data: object) -> dict[str, object]:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return dict(data)


class PasskeySerializer(StrictModelSerializer):
    name = serializers.CharField(max_length=100, min_length=1, trim_whitespace=True)

    class Meta:
        model = Passkey
        fields = ["id", "name", "created_at", "last_used_at"]
        read_only_fields = ["id", "created_at", "last_used_at"]


class PasskeyCeremonySerializer(serializers.Serializer):
    ceremony = serializers.UUIDField(read_only=True, help_text="Send it back to the matching `finish`.")
    options = serializers.DictField(
        read_only=True,
        help_text="PublicKeyCredentialCreationOptions (register) or PublicKeyCredentialRequestOptions "
        "(login) as JSON, binary members in base64url: what the browser's "
        "`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON` take.",
    )


class PasskeyLoginBeginSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254, required=False, allow_null=True, allow_blank=True)


class PasskeyRegisterFinishSerializer(StrictSerializer):
    ceremony = UUIDField()
    credential = CredentialField(help_text="The authenticator's answer (`PublicKeyCredential.toJSON()`).")
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class PasskeyLoginFinishSerializer(StrictSerializer):
    ceremony = UUIDField()
    credential = CredentialField(help_text="The authenticator's answer (`PublicKeyCredential.toJSON()`).")
