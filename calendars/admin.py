"""Calendar feeds in the back office: staff see who has feeds and revoke one that leaked. They cannot
create one (its URL would be shown to staff) nor change one."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from calendars.models import CalendarFeed


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
