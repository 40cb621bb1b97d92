"""Reads of workspaces beyond a filter (docs/architecture.md, convention 4)."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from core.models import User
from sync.spaces import require_role
from workspaces.models import Activity, Invitation, Member, Workspace


def with_role_and_count(queryset: QuerySet[Workspace], user: User) -> QuerySet[Workspace]:
    """The caller's `role` and the `member_count` of each workspace, in the page's own query."""
    own = Member.objects.filter(workspace=OuterRef("pk"), user=user).values("role")[:1]
    count = (
        Member.objects.filter(workspace=OuterRef("pk"))
        .order_by()
        .values("workspace")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return queryset.annotate(
        role=Subquery(own), member_count=Coalesce(Subquery(count, output_field=IntegerField()), 0)
    )


def readable_workspace(user: User, workspace_id: UUID, role: str = "viewer") -> tuple[Workspace, str]:
    """The workspace and the caller's role in it, at least `role` (sync.spaces.require_role): a
    non-member gets a 404, as for a workspace that does not exist; a member with a lower role a 403."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        raise Http404
    return workspace, require_role(user, workspace.space_id, role)


def members_of(workspace: Workspace) -> QuerySet[Member]:
    return Member.objects.filter(workspace=workspace).select_related("user")


def pending_invitations_of(workspace: Workspace) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        workspace=workspace, status=Invitation.Status.PENDING, expires_at__gt=timezone.now()
    )


def invitations_to(user: User) -> QuerySet[Invitation]:
    """The pending, unexpired invitations to the user's email (attached to the account or not yet)."""
    return Invitation.objects.filter(
        email=user.email.lower(), status=Invitation.Status.PENDING, expires_at__gt=timezone.now()
    )


def activity_of(workspace: Workspace) -> QuerySet[Activity]:
    return Activity.objects.filter(workspace=workspace).select_related("actor")
