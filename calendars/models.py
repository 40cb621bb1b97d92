"""Calendar feeds (docs/api/calendar-feeds.md): secret URLs that calendar apps subscribe to."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class CalendarFeed(models.Model):
    """One subscription URL of a user: all the open, dated items they can see, or those of one list.

    The URL's token is the only credential a calendar app can send, so only its SHA-256 is stored (the token
    is shown once, on creation). Revoking a feed deletes the row: its URL is then exactly as unknown as one
    that never existed. A list's deletion deletes its feeds (never widening one into the user's whole feed).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Led by the (user, -created_at) index below, which serves every lookup by user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    list = models.ForeignKey("lists.List", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    hashed_token = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ("-created_at",)
        indexes = [
            models.Index(fields=["user", "-created_at"], name="calendarfeed_user_created"),
        ]

    def __str__(self) -> str:
        scope = f"list {self.list_id}" if self.list_id else "all lists"
        return f"calendar feed {self.pk} of user {self.user_id} ({scope})"
