"""Spaces and their change counters, and the change log that the field-level merge and the feed read
(docs/api/sync.md, "Spaces")."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Space(models.Model):
    """Where synced entities live: a user's personal space or a workspace's space. Each has its own change
    counter. Every write transaction locks the counter rows of the spaces it writes (SELECT ... FOR UPDATE,
    in id order), which serialises a space's writes so its numbers become visible in order.

    A workspace's space outlives the workspace (`retired_at`): the feed still needs to know which workspace a
    cursor's space was, to send its tombstone. Retired spaces are removed by the pruning after the
    retention window, when no valid cursor can hold them any more.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The workspace entity's id (sync imports no domain app: a plain value, not a foreign key).
    workspace_id = models.UUIDField(null=True, blank=True, unique=True)
    last_change_number = models.BigIntegerField(default=0)
    # Change records and tombstones up to this number were pruned: an older position cannot be served.
    pruned_through = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_change_number__gte=models.F("pruned_through")),
                name="space_pruned_not_ahead",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, workspace_id__isnull=True)
                | models.Q(user__isnull=True, workspace_id__isnull=False),
                name="space_personal_or_workspace",
            ),
        ]

    def __str__(self) -> str:
        owner = f"user {self.user_id}" if self.user_id else f"workspace {self.workspace_id}"
        return f"space {self.pk} of {owner} at {self.last_change_number}"


class ChangeRecord(models.Model):
    """What one change did in one space: entity, its new version, the fields it set, or its deletion (a
    tombstone), who made it, and for an entity that moved to another space, that space (`target_space`:
    the record the entity left behind, a tombstone for those who cannot see where it went)."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by the (space, number) constraint, which serves every lookup by space.
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="+", db_index=False)
    number = models.BigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_space = models.ForeignKey(
        Space, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    entity_type = models.CharField(max_length=32)
    entity_id = models.UUIDField()
    version = models.PositiveIntegerField()
    fields = models.JSONField(default=list)
    deleted = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["space", "number"], name="changerecord_space_number_unique"),
        ]
        indexes = [
            models.Index(fields=["entity_id", "version"], name="changerecord_entity_version"),
            # Tombstones and moves out: what the feed reads besides the live entities.
            models.Index(
                fields=["space", "number"],
                condition=models.Q(deleted=True) | models.Q(target_space__isnull=False),
                name="changerecord_departures",
            ),
            models.Index(fields=["created_at"], name="changerecord_created"),
        ]

    def __str__(self) -> str:
        if self.deleted:
            action = "deleted"
        elif self.target_space_id is not None:
            action = f"moved to space {self.target_space_id}"
        else:
            action = f"v{self.version} {','.join(self.fields)}"
        return f"{self.space_id}#{self.number} {self.entity_type} {self.entity_id} {action}"


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
