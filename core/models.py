"""The one base of every user-owned model (docs/architecture.md, convention 1), and the idempotency keys of
`core.idempotency`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Self
from uuid import UUID

from django.conf import settings
from django.db import models

# The owner, settings.AUTH_USER_MODEL: core and sync import no domain app, so they name it this way. For
# mypy it is accounts.User (django-stubs resolves `_User` to the configured model); at run time, its base.
if TYPE_CHECKING:
    from django.contrib.auth.models import _User as User
else:
    from django.contrib.auth.base_user import AbstractBaseUser as User


# The ids of the spaces a user sees: `sync.spaces.visible_space_ids`, set by the sync app when Django is
# ready (core imports no app).
visible_spaces: list[Callable[[Any], Any]] = []


class OwnedQuerySet(models.QuerySet):
    def for_user(self, user: User | UUID) -> Self:
        """Everything `user` can see: their personal space and the spaces of their workspaces (the
        membership table that `sync.spaces` reads; docs/architecture.md, convention 2). A type that only
        ever lives in personal spaces (`personal_only`) is simply the user's own rows."""
        if getattr(self.model, "personal_only", False):
            return self.filter(user=user)
        # The ids as values, read first (one small query): with a subquery PostgreSQL cannot know how many
        # rows a space holds, and planned the items page as a scan of the user's whole space.
        return self.filter(space_id__in=visible_spaces[0](user))

    def personal(self, user: User | UUID) -> Self:
        """Only what lives in the user's personal space."""
        return self.filter(space__user=user)


class OwnedModel(models.Model):
    """UUID id (clients may choose it offline), owner, space, version, the change number of its last write.

    `space` is where the entity lives (a personal space or a workspace's; docs/api/sync.md, "Spaces"), and
    `change_number` that space's counter at the entity's latest write: the change feed reads live entities
    by it, so each appears once with its latest state. `user` is the owner of a personal entity, and the
    member who created a workspace's entity (account deletion hands those to the workspace's new owner).
    `sync_type` names the entity in the API.

    `sync_fields` is the one description of what the API and sync show of the entity, in the API's names
    and order, between the `id` and the server's `version`, `created_at` and `updated_at`: the serializers'
    fields, the feed's columns and data, the fields a create records and the export derive from it
    (sync.fields; docs/api/sync.md, "Adding a field").
    """

    sync_type: ClassVar[str] = ""
    sync_fields: ClassVar[tuple[str, ...]] = ()
    # Entities that stay personal (a profile, focus cards, anti-todo): always in their owner's space.
    personal_only: ClassVar[bool] = False

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # No index of its own: (space, change_number) serves every lookup by space, and with a second index on
    # the space alone PostgreSQL read a whole space and sorted it for a page of the feed.
    space = models.ForeignKey(
        "sync.Space", on_delete=models.CASCADE, related_name="+", editable=False, db_index=False
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    change_number = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        abstract = True
        indexes = [
            models.Index(fields=["space", "change_number"], name="%(class)s_space_chg"),
            models.Index(fields=["user", "updated_at"], name="%(class)s_user_upd"),
        ]


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` of one user (docs/api/idempotency.md) and the answer it got.

    The row is committed before the request runs, with `status_code` null: a concurrent duplicate in any
    process sees it and is told the key is in use. When the request ends the answer is stored for replay.
    """

    id = models.BigAutoField(primary_key=True)
    # Null for a request without credentials (the `auth/*` endpoints that create a session): those keys
    # share one scope, and the body (with its password or refresh token) must match for a replay.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    # sha256 of method, path and body: the same key with another request is refused.
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(default=b"")
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        # The table it had when it lived in sync/ (moved without touching the database).
        db_table = "sync_idempotencykey"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_user_key_unique"),
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(user__isnull=True),
                name="idempotencykey_anonymous_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"idempotency key {self.key!r} of user {self.user_id}"

    @property
    def in_progress(self) -> bool:
        return self.status_code is None
