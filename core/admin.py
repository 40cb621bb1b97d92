from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """Pages staff can look at but never add to, change or delete from, superusers included."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_act_permission(self, request: HttpRequest) -> bool:
        """The actions of a read-only page (revoke, remove: `@admin.action(permissions=["act"])`) go through
        the services; they need the model's change permission from the auth system, which the page itself
        never uses for editing. Without `permissions`, Django offers an action to anyone who may view the
        list."""
        codename = get_permission_codename("change", self.opts)
        return request.user.has_perm(f"{self.opts.app_label}.{codename}")


class ReadOnlyOwnedAdmin(ReadOnlyAdmin):
    """Support can look at users' data; users change it (through the API and its services)."""

    show_full_result_count = False
