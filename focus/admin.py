from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyOwnedAdmin
from focus.models import FocusCard, FocusCardItem


class FocusCardItemInline(admin.TabularInline):
    model = FocusCardItem
    fields = ("position", "item")
    readonly_fields = fields
    ordering = ("position",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FocusCard)
class FocusCardAdmin(ReadOnlyOwnedAdmin):
    list_display = ("date", "user", "source", "intention", "version", "updated_at")
    list_filter = ("source",)
    list_select_related = ("user",)
    date_hierarchy = "date"
    search_fields = ("id", "intention", "user__email")
    inlines = [FocusCardItemInline]
