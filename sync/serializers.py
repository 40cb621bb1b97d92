"""The documented shape of `POST sync` (docs/api/sync.md). The view checks the body itself, so that each
operation gets its own result; these serializers describe exactly what it accepts."""

from __future__ import annotations

from rest_framework import serializers

from core.serializers import StrictSerializer
from sync import registry
from sync.cursors import MAX_LENGTH
from sync.push import ACTIONS, MAX_OPERATIONS


class SyncOperationSerializer(StrictSerializer):
    op_id = serializers.UUIDField(help_text="Chosen by the client; a processed op_id is not run again.")
    action = serializers.ChoiceField(choices=ACTIONS)
    id = serializers.UUIDField()
    version = serializers.IntegerField(
        min_value=1,
        max_value=2_000_000_000,
        required=False,
        help_text="The base version (update and delete; without it the operation is `version_required`).",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # `data` would shadow Serializer.data as a class attribute; `type` names the registered types, which
        # the domain apps register when Django is ready, after this module is imported.
        fields = super().get_fields()
        fields = {
            "op_id": fields.pop("op_id"),
            "type": serializers.ChoiceField(choices=registry.names()),
            **fields,
        }
        fields["data"] = serializers.DictField(
            required=False,
            help_text="The entity's fields (create and update), as the entity's own endpoint accepts them.",
        )
        return fields


class SyncPushSerializer(StrictSerializer):
    cursor = serializers.CharField(
        max_length=MAX_LENGTH,
        required=False,
        help_text="The last answer's cursor (opaque; an integer cursor of API 1.0 is accepted too), for the "
        "changes pulled back; absent: all. A cursor the server never issued is 400, a pruned one 410.",
    )
    operations = serializers.ListField(
        child=SyncOperationSerializer(),
        required=False,
        max_length=MAX_OPERATIONS,
        help_text="Run in order, each on its own. An operation that cannot run gets the result `invalid` "
        "(the request still answers 200).",
    )
