"""What the back office keeps that no other table answers: who used the API on which day, usage counters,
their daily rollups, and minute snapshots of the service's metrics (docs/operations.md, "The back office").
"""

from __future__ import annotations

from django.db import models


class ActiveDay(models.Model):
    """A user made at least one authenticated API request on `day` (UTC). One row per user-day at most,
    written in batches by each process's flush (backoffice.usage), never one per request. A plain user id,
    not a foreign key: deleting an account must not touch this table, and rows older than
    ACTIVE_DAY_RETENTION_DAYS are pruned by the rollup job once their day's rollup is written."""

    day = models.DateField()
    user_id = models.UUIDField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "user_id"], name="activeday_one_per_user_day")]

    def __str__(self) -> str:
        return f"{self.user_id} active on {self.day}"


class UsageCount(models.Model):
    """A counter per UTC day (`sync_pulls`, `sync_pushes`, `api_requests`): each process adds what it
    counted since its last flush, one upsert per counter."""

    day = models.DateField()
    name = models.CharField(max_length=40)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "name"], name="usagecount_one_per_day_name")]

    def __str__(self) -> str:
        return f"{self.name} on {self.day}: {self.count}"


class DailyRollup(models.Model):
    """One row per UTC day, written by the rollup job (backoffice.rollups): the active-user counts the
    database cannot answer after ActiveDay rows are pruned, and the day's usage counters."""

    day = models.DateField(primary_key=True)
    active_users = models.IntegerField(default=0)
    weekly_active_users = models.IntegerField(default=0)
    monthly_active_users = models.IntegerField(default=0)
    sync_pulls = models.BigIntegerField(default=0)
    sync_pushes = models.BigIntegerField(default=0)
    api_requests = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ("day",)

    def __str__(self) -> str:
        return f"rollup of {self.day}"


class MetricsSnapshot(models.Model):
    """The cumulative counters of /metrics at one minute (backoffice.health): differences between two
    snapshots are what happened between them. Kept SNAPSHOT_RETENTION_MINUTES."""

    minute = models.DateTimeField(unique=True)
    samples = models.JSONField(default=dict)

    class Meta:
        ordering = ("minute",)

    def __str__(self) -> str:
        return f"metrics at {self.minute:%Y-%m-%d %H:%M}"


class BackOffice(models.Model):
    """No table: the holder of the back office's permissions, so a staff member without superuser rights
    is given exactly the pages and actions they need (docs/security.md, "The back office")."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can view the usage dashboard"),
            ("view_health", "Can view the service health panel"),
            ("deactivate_user", "Can deactivate and reactivate users"),
            ("send_password_reset", "Can send a user a password reset"),
            ("export_user_data", "Can export a user's data"),
            ("delete_user", "Can delete a user's account"),
            ("revoke_api_key", "Can revoke a user's API keys"),
            ("remove_workspace_member", "Can remove a member from a workspace"),
        ]

    def __str__(self) -> str:
        return "the back office"
