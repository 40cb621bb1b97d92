from django.contrib import admin

from antitodo.models import AntiTodoEntry
from core.admin import ReadOnlyOwnedAdmin


@admin.register(AntiTodoEntry)
class AntiTodoEntryAdmin(ReadOnlyOwnedAdmin):
    list_display = ("title", "user", "date", "item", "version", "updated_at")
    list_select_related = ("user", "item")
    date_hierarchy = "date"
    search_fields = ("title", "id", "user__email")
