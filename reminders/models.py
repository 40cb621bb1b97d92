"""Reminders and notifications (docs/api/reminders.md): both personal, versioned and synced.

`fires_at` and `skipped_at` are the server's scheduling state, not the entity's own fields: they change
without the reminder's version changing (an item's due date moved by another member, the owner's time zone
changed), so sync leaves `fires_at` out of a change's data and clients derive it (docs/api/sync.md, derived
values), as they do a list's `open_count`. Keeping them out of the version is what lets a workspace item's
write update the reminders of every member who set one without locking those members' personal spaces
(sync.services' lock order): see reminders/schedule_services.py.
"""

from __future__ import annotations

from django.db import models

from core.models import OwnedModel
from lists.models import Item

MAX_MINUTES_BEFORE = 40_320  # four weeks
MAX_PER_ITEM = 50  # reminders per item and user


class Reminder(OwnedModel):
    personal_only = True
    sync_type = "reminder"
    sync_fields = ("item", "remind_at", "minutes_before", "fired_at")

    # Deleted through the write path before the item goes (reminders.hooks), so each deletion syncs; the
    # cascade is only the database's guarantee.
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    remind_at = models.DateTimeField(null=True, blank=True)
    minutes_before = models.PositiveIntegerField(null=True, blank=True)
    # When it fired (a new version, the notification's write): null while armed.
    fired_at = models.DateTimeField(null=True, blank=True)
    # Scheduling state, not versioned (module docstring). Null when a relative reminder's item has no due
    # date and time, so it has nothing to fire at.
    fires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when it came due while its item was done or out of the owner's sight: it will not fire for that
    # time. Cleared when it is armed again or its time moves (reminders.schedule_services).
    skipped_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(OwnedModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remind_at__isnull=False, minutes_before__isnull=True)
                | models.Q(remind_at__isnull=True, minutes_before__isnull=False),
                name="reminder_absolute_or_relative",
            ),
            models.CheckConstraint(
                condition=models.Q(minutes_before__isnull=True)
                | models.Q(minutes_before__gte=0, minutes_before__lte=MAX_MINUTES_BEFORE),
                name="reminder_minutes_before_range",
            ),
        ]
        indexes = [
            *OwnedModel.Meta.indexes,
            # What the firing job reads: the armed reminders by the time they fire, and nothing else, so
            # the index stays as small as what is pending.
            models.Index(
                fields=["fires_at"],
                condition=models.Q(fired_at__isnull=True, skipped_at__isnull=True, fires_at__isnull=False),
                name="reminder_pending",
            ),
            models.Index(fields=["item", "user"], name="reminder_item_user"),
        ]

    def __str__(self) -> str:
        when = self.remind_at.isoformat() if self.remind_at else f"{self.minutes_before} min before"
        return f"reminder of {self.item_id} at {when}"


class Notification(OwnedModel):
    personal_only = True
    sync_type = "notification"
    sync_fields = ("kind", "data", "read_at")

    class Kind(models.TextChoices):
        REMINDER = "reminder", "reminder"
        INVITATION = "invitation", "invitation"
        ASSIGNED = "assigned", "assigned"
        WORKSPACE_REMOVED = "workspace_removed", "workspace_removed"
        WEBHOOK_DISABLED = "webhook_disabled", "webhook_disabled"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Ids and titles to show, as they were when it was made (docs/api/reminders.md lists them per kind).
    data = models.JSONField(default=dict)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta(OwnedModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    kind__in=["reminder", "invitation", "assigned", "workspace_removed", "webhook_disabled"]
                ),
                name="notification_kind_valid",
            ),
        ]
        indexes = [
            *OwnedModel.Meta.indexes,
            # `GET notifications`, newest first; the retention prune reads by created_at.
            models.Index(fields=["user", "-created_at"], name="notification_user_created"),
            models.Index(fields=["created_at"], name="notification_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} notification of {self.user_id}"


class ReminderEmail(models.Model):
    """The email of one fired reminder (its notification), for the owners who asked for them: server state,
    not synced. Its row is the claim on the sending (reminders.tasks): an email is sent only by whoever
    moves it from `pending` to `sending`, so it goes at most once per firing, however many times a task
    runs; a failed send returns it to `pending` for a later attempt, up to REMINDER_EMAIL_ATTEMPTS."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    state = models.CharField(max_length=7, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"reminder email of {self.notification_id}: {self.state} after {self.attempts}"
