"""Webhooks (docs/api/webhooks.md): a user's endpoints, the events written with the changes that made them
(the outbox), and one delivery per event and endpoint, which the worker sends and retries."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

EVENT_TYPES = (
    "list.created",
    "list.updated",
    "list.deleted",
    "item.created",
    "item.updated",
    "item.completed",
    "item.reopened",
    "item.deleted",
    "reminder.fired",
    "workspace.member_joined",
    "workspace.member_left",
)
ALL_EVENTS = "*"
PING = "ping"


class Endpoint(models.Model):
    """A URL of a user's that gets the events they subscribed to, of everything they can see.

    The secret signs every delivery, so it is stored as it is (a hash could not sign): it is shown once, in
    the answer that creates the endpoint, never in a listing, the admin or a log (docs/security.md).
    `failing_since` is when the first failure since the last success happened: three days of that disable
    the endpoint, and so does a 410 at once (`disabled_reason`).
    """

    class DisabledReason(models.TextChoices):
        NONE = "", "active or paused by its owner"
        GONE = "gone", "answered 410 Gone"
        FAILING = "failing", "failed for three days"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Led by the (user, -created_at) index below, which serves every lookup by user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=100, editable=False)
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=10, choices=DisabledReason.choices, default="", blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["user", "-created_at"], name="webhookendpoint_user_created"),
            # The outbox's one question on every write: which active endpoints belong to these users.
            models.Index(fields=["user"], condition=models.Q(active=True), name="webhookendpoint_active"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(active=False) | models.Q(disabled_reason=""),
                name="webhookendpoint_active_not_disabled",
            ),
        ]

    def __str__(self) -> str:
        state = "active" if self.active else f"inactive {self.disabled_reason}".strip()
        return f"webhook {self.pk} of user {self.user_id} ({state})"

    def wants(self, event_type: str) -> bool:
        return event_type == PING or ALL_EVENTS in self.events or event_type in self.events


class Event(models.Model):
    """One event as it is sent: its type and the JSON body, written once however many endpoints get it."""

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=40)
    # The exact body sent (and signed), so every attempt of every delivery sends the same bytes.
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.type} event {self.pk}"


class Delivery(models.Model):
    """An event for one endpoint. Its id is the `webhook-id` of every attempt (the consumer's idempotency
    key). `next_attempt_at` is when it is due; a worker claims a due one by moving it past its attempt's
    timeout (`claim`), so a worker that dies mid-attempt leaves it to be taken again."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=80, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhookdelivery_endpoint"),
            # The worker's claim: the due pending ones, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhookdelivery_due",
            ),
            models.Index(fields=["created_at"], name="webhookdelivery_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "succeeded", "failed"]),
                name="webhookdelivery_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="pending") | models.Q(next_attempt_at__isnull=False),
                name="webhookdelivery_pending_is_due_sometime",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of event {self.event_id} to {self.endpoint_id}: {self.status}"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.pk.hex}"
