"""Calendar feeds in the back office: staff see who has feeds and revoke one that leaked. They cannot
create one (its URL would be shown to staff) nor change one."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from calendars.models import CalendarFeed
from calendars.services import calendar_feed_revoke


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "list", "created_at")
    list_filter = ("created_at",)
    search_fields = ("user__email",)
    list_select_related = ("user", "list")
    fields = ("id", "user", "list", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Deleting (one, or the selected ones) revokes through the service, so it is audited with the staff
    # member's email, like a revocation by the owner.
    def delete_model(self, request: HttpRequest, obj: CalendarFeed) -> None:
        calendar_feed_revoke(user=obj.user, feed_id=obj.pk, by_staff=_staff(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarFeed]) -> None:
        for feed in queryset.select_related("user"):
            calendar_feed_revoke(user=feed.user, feed_id=feed.pk, by_staff=_staff(request))


def _staff(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user
