from __future__ import annotations

from django.conf import settings
from django.db import models

from core.models import OwnedModel


class List(OwnedModel):
    sync_type = "list"
    sync_fields = ("name", "color", "position", "archived", "workspace")

    name = models.CharField(max_length=200)
    # `#RRGGBB` or null; null (no color) is not the same as an empty string.
    color = models.CharField(max_length=7, null=True, blank=True)  # noqa: DJ001
    position = models.IntegerField(default=0)
    archived = models.BooleanField(default=False)
    # Null for a personal list; else the workspace whose space the list (and its items) lives in: the
    # services keep the two in agreement. Deleting the workspace deletes its lists.
    workspace = models.ForeignKey(
        "workspaces.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="lists"
    )

    class Meta(OwnedModel.Meta):
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="list_name_not_empty"),
            models.CheckConstraint(
                condition=models.Q(color__isnull=True) | models.Q(color__regex=r"^#[0-9A-Fa-f]{6}$"),
                name="list_color_hex",
            ),
        ]
        indexes = [
            *OwnedModel.Meta.indexes,
            models.Index(fields=["user", "position"], name="list_user_position"),
        ]

    def __str__(self) -> str:
        return self.name


class Item(OwnedModel):
    sync_type = "item"
    sync_fields = (
        "list",
        "title",
        "notes",
        "status",
        "priority",
        "due_date",
        "due_time",
        "position",
        "completed_at",
        "assignee",
        "recurrence",
        "created_by",
        "completed_by",
        "series",
    )

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    list = models.ForeignKey(List, on_delete=models.CASCADE, related_name="items")
    title = models.CharField(max_length=500)
    notes = models.TextField(max_length=10_000, blank=True, default="")
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.OPEN)
    priority = models.PositiveSmallIntegerField(default=3)
    due_date = models.DateField(null=True, blank=True)
    # A wall-clock time in the user's time zone on `due_date` (reminders compute their instant from both);
    # never without a date: the services clear it with the date.
    due_time = models.TimeField(null=True, blank=True)
    position = models.IntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Who is to do it: a user who can see the item (in a personal list its owner; in a workspace a member).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Null, or `{"rule": <RRULE in its one written form>, "mode": "schedule"|"after_completion"}`
    # (lists.recurrence); only with a due_date, the current occurrence's.
    recurrence = models.JSONField(null=True, blank=True)
    # Read-only, set by the services: the id of the first occurrence of the item's series (its own id
    # when it was given a recurrence); the next occurrence's id is derived from it (lists.services).
    series = models.UUIDField(null=True, blank=True)
    # Not in the API: the occurrence's number in its series (1 for the first), which COUNT bounds.
    series_index = models.PositiveIntegerField(null=True, blank=True)
    # Read-only, set by the services: who created it, who completed it (cleared when reopened). Unlike
    # `user`, which account deletion hands to a workspace's new owner, these name the people and go null
    # with their account.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # led by the index (completed_by, completed_at) below
    )

    class Meta(OwnedModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=4), name="item_priority_1_4"
            ),
            models.CheckConstraint(condition=~models.Q(title=""), name="item_title_not_empty"),
            models.CheckConstraint(condition=models.Q(status__in=["open", "done"]), name="item_status_valid"),
            models.CheckConstraint(
                condition=models.Q(due_time__isnull=True) | models.Q(due_date__isnull=False),
                name="item_due_time_needs_date",
            ),
            models.CheckConstraint(
                condition=models.Q(recurrence__isnull=True) | models.Q(due_date__isnull=False),
                name="item_recurrence_needs_date",
            ),
            models.CheckConstraint(
                condition=models.Q(status="done", completed_at__isnull=False)
                | models.Q(status="open", completed_at__isnull=True),
                name="item_completed_at_matches_status",
            ),
        ]
        indexes = [
            *OwnedModel.Meta.indexes,
            # The items page (`?list=`, ordered by position with the id as tie-breaker) reads its 50 rows
            # straight from this index instead of sorting the whole list. A list names its space, so who
            # may see it is checked on the rows read, not part of the index.
            models.Index(fields=["list", "position", "id"], name="item_list_position_id"),
            models.Index(fields=["user", "status", "due_date"], name="item_user_status_due"),
            models.Index(fields=["user", "completed_at"], name="item_user_completed"),
            # Insights count what a user completed, in any space (`completed_by`).
            models.Index(fields=["completed_by", "completed_at"], name="item_completer_completed"),
        ]

    def __str__(self) -> str:
        return self.title
