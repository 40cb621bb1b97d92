"""Workspaces in the staff back office: read-only pages; what staff change goes through
workspaces.services (and is audited), like every other write."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin, ReadOnlyOwnedAdmin
from core.models import User
from workspaces.models import Activity, Invitation, Member, Workspace
from workspaces.problems import LastOwner
from workspaces.services import member_remove_by_staff


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0
    can_delete = False
    fields = ("user", "role", "joined_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Workspace)
class WorkspaceAdmin(ReadOnlyOwnedAdmin):
    list_display = ("name", "user", "version", "created_at", "updated_at")
    list_select_related = ("user",)
    search_fields = ("name", "=id", "user__email")
    inlines = (MemberInline,)


@admin.register(Member)
class MemberAdmin(ReadOnlyOwnedAdmin):
    list_display = ("user", "workspace", "role", "joined_at")
    list_filter = ("role",)
    list_select_related = ("user", "workspace")
    search_fields = ("user__email", "workspace__name", "=workspace__id")
    actions = ("remove_members",)

    @admin.action(
        description="Remove the selected members from their workspaces (not owners)", permissions=["act"]
    )
    def remove_members(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        removed, kept = 0, 0
        for member in queryset:
            try:
                member_remove_by_staff(
                    by_staff=_staff(request), workspace_id=member.workspace_id, member_user_id=member.user_id
                )
                removed += 1
            except LastOwner:
                kept += 1
        self.message_user(request, f"Removed {removed} member(s).", messages.SUCCESS)
        if kept:
            self.message_user(
                request, f"Kept {kept} owner(s): an owner hands the workspace over first.", messages.WARNING
            )


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyOwnedAdmin):
    list_display = ("email", "workspace_name", "role", "status", "invited_by", "expires_at", "created_at")
    list_filter = ("status", "role")
    list_select_related = ("invited_by",)
    search_fields = ("email", "workspace_name", "=workspace__id", "invited_by__email")
    exclude = ("token_hash",)


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("at", "workspace", "actor", "action", "entity_type", "title")
    list_filter = ("action", "entity_type")
    list_select_related = ("workspace", "actor")
    search_fields = ("=workspace__id", "title", "actor__email")
    date_hierarchy = "at"
    show_full_result_count = False
