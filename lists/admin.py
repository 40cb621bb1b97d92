from django.contrib import admin

from core.admin import ReadOnlyOwnedAdmin
from lists.models import Item, List


@admin.register(List)
class ListAdmin(ReadOnlyOwnedAdmin):
    list_display = ("name", "user", "archived", "position", "version", "updated_at")
    list_filter = ("archived",)
    list_select_related = ("user",)
    search_fields = ("name", "id", "user__email")


@admin.register(Item)
class ItemAdmin(ReadOnlyOwnedAdmin):
    list_display = ("title", "user", "list", "status", "priority", "due_date", "version", "updated_at")
    list_filter = ("status", "priority")
    list_select_related = ("user", "list")
    search_fields = ("title", "id", "user__email")
