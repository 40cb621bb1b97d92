"""The per-user change counter and the change log that the field-level merge and the feed read."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SyncState(models.Model):
    """One row per user. Every write transaction locks it (SELECT ... FOR UPDATE) to take change numbers,
    which serialises a user's writes so numbers become visible in order."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True)
    last_change_number = models.BigIntegerField(default=0)
    # Change records and tombstones up to this number were pruned: an older cursor cannot be served.
    pruned_through = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_change_number__gte=models.F("pruned_through")),
                name="syncstate_pruned_not_ahead",
            )
        ]

    def __str__(self) -> str:
        return f"sync state of user {self.user_id} at {self.last_change_number}"


class ChangeRecord(models.Model):
    """What one change did: entity, its new version, the fields it set, or its deletion (a tombstone)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    number = models.BigIntegerField()
    entity_type = models.CharField(max_length=32)
    entity_id = models.UUIDField()
    version = models.PositiveIntegerField()
    fields = models.JSONField(default=list)
    deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "number"], name="changerecord_user_number_unique"),
        ]
        indexes = [
            models.Index(fields=["entity_id", "version"], name="changerecord_entity_version"),
            models.Index(
                fields=["user", "number"],
                condition=models.Q(deleted=True),
                name="changerecord_tombstones",
            ),
            models.Index(fields=["created_at"], name="changerecord_created"),
        ]

    def __str__(self) -> str:
        action = "deleted" if self.deleted else f"v{self.version} {','.join(self.fields)}"
        return f"#{self.number} {self.entity_type} {self.entity_id} {action}"


class ProcessedOperation(models.Model):
    """A pushed operation that ran, with the result it answered: a replayed `op_id` gets this result and
    never runs again. Saved in the same transaction as the operation's write."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    op_id = models.UUIDField()
    result = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "op_id"], name="processedoperation_user_op_unique"),
        ]

    def __str__(self) -> str:
        return f"op {self.op_id} of user {self.user_id}: {self.result.get('status')}"


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` of one user (docs/api/idempotency.md) and the answer it got.

    The row is committed before the request runs, with `status_code` null: a concurrent duplicate in any
    process sees it and is told the key is in use. When the request ends the answer is stored for replay.
    """

    id = models.BigAutoField(primary_key=True)
    # Null for a request without credentials (the `auth/*` endpoints that create a session): those keys
    # share one scope, and the body (with its password or refresh token) must match for a replay.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    # sha256 of method, path and body: the same key with another request is refused.
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(default=b"")
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_user_key_unique"),
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(user__isnull=True),
                name="idempotencykey_anonymous_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"idempotency key {self.key!r} of user {self.user_id}"

    @property
    def in_progress(self) -> bool:
        return self.status_code is None
