"""Workspaces: shared spaces of lists, their members and roles, invitations, and the activity log.

A workspace lives in a space of its own (`sync.spaces`); its members and everything in it live there too.
An invitation lives in the invitee's personal space, or in none while no account has its email.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from core.models import OwnedModel


class Role(models.TextChoices):
    """In rising order of rights; `sync.spaces.role_rank` compares them."""

    VIEWER = "viewer", "viewer"
    EDITOR = "editor", "editor"
    ADMIN = "admin", "admin"
    OWNER = "owner", "owner"


class Workspace(OwnedModel):
    """`user` is the member who created it (the owner may change later: see Member)."""

    sync_type = "workspace"
    sync_fields = ("name",)

    name = models.CharField(max_length=200)

    class Meta(OwnedModel.Meta):
        constraints = [models.CheckConstraint(condition=~models.Q(name=""), name="workspace_name_not_empty")]

    def __str__(self) -> str:
        return self.name


class Member(OwnedModel):
    """A user's membership of a workspace. `user` (the owned model's owner field) is the member: the
    feed and every permission check read memberships by it (`sync.spaces`)."""

    sync_type = "member"
    # `email` and `display_name` are the member's account's, filled by the type (workspaces.sync_types).
    sync_fields = ("workspace", "user", "email", "display_name", "role", "joined_at")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(max_length=6, choices=Role.choices)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta(OwnedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="member_one_per_user"),
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(role="owner"), name="member_one_owner"
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="member_role_valid"),
        ]
        indexes = [
            *OwnedModel.Meta.indexes,
            models.Index(fields=["workspace", "joined_at"], name="member_workspace_joined"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ({self.role}) in {self.workspace_id}"


class Invitation(OwnedModel):
    """An invitation to join a workspace, addressed to an email. `user` and `space` are the invitee's
    account and personal space, null while no account has the email (set when one registers)."""

    sync_type = "invitation"
    sync_fields = (
        "workspace",
        "workspace_name",
        "email",
        "role",
        "status",
        "expires_at",
        "invited_by",
        "invited_by_name",
    )

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        ACCEPTED = "accepted", "accepted"
        DECLINED = "declined", "declined"
        REVOKED = "revoked", "revoked"
        REPLACED = "replaced", "replaced"

    user = models.ForeignKey(  # type: ignore[assignment]  # nullable here
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    space = models.ForeignKey(  # type: ignore[assignment]  # nullable here
        "sync.Space", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    # What the invitee sees of the workspace and the inviter, who are not theirs to read until they join.
    workspace_name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=6, choices=Role.choices)
    # sha256 of the emailed token: the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    expires_at = models.DateTimeField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_by_name = models.CharField(max_length=100, blank=True, default="")

    class Meta(OwnedModel.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="invitation_email_lowercase"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=["viewer", "editor", "admin"]), name="invitation_role_not_owner"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    status__in=[
                        "pending",
                        "accepted",
                        "declined",
                        "revoked",
                        "replaced",
                    ]
                ),
                name="invitation_status_valid",
            ),
            # Inviting an address again replaces its pending invitation.
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=models.Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
        ]
        indexes = [
            *OwnedModel.Meta.indexes,
            models.Index(fields=["email", "status"], name="invitation_email_status"),
            models.Index(fields=["invited_by", "created_at"], name="invitation_inviter_created"),
            models.Index(fields=["workspace", "status"], name="invitation_workspace_status"),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace_name} ({self.status})"


class Activity(models.Model):
    """One entry of a workspace's activity log, written from its change records (activity_services)."""

    class Action(models.TextChoices):
        CREATED = "created", "created"
        UPDATED = "updated", "updated"
        COMPLETED = "completed", "completed"
        REOPENED = "reopened", "reopened"
        DELETED = "deleted", "deleted"
        MOVED_IN = "moved_in", "moved in"
        MOVED_OUT = "moved_out", "moved out"
        ASSIGNED = "assigned", "assigned"
        MEMBER_JOINED = "member_joined", "member joined"
        MEMBER_LEFT = "member_left", "member left"
        ROLE_CHANGED = "role_changed", "role changed"

    # A UUID, as every paginated resource's id (the page cursor's tie-breaker).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=13, choices=Action.choices)
    entity_type = models.CharField(max_length=32)
    entity_id = models.UUIDField()
    # The entity's title or name when it happened: the entity may be gone since.
    title = models.CharField(max_length=500, blank=True, default="")
    fields = models.JSONField(default=dict)

    class Meta:
        verbose_name_plural = "activity"
        indexes = [
            models.Index(fields=["workspace", "-at"], name="activity_workspace_at"),
            models.Index(fields=["at"], name="activity_at"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.entity_type} {self.title!r}"
