"""The one base of every user-owned model (DESIGN convention 1)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Self

from django.conf import settings
from django.db import models


class OwnedQuerySet(models.QuerySet):
    def for_user(self, user: Any) -> Self:
        return self.filter(user=user)


class OwnedModel(models.Model):
    """UUID id (clients may choose it offline), owner, version, the change number of its last write.

    `change_number` is the owner's sync counter at the entity's latest write: the change feed reads live
    entities by it, so each appears once with its latest state. `sync_type` names the entity in the API.
    """

    sync_type: ClassVar[str] = ""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField(default=1, editable=False)
    change_number = models.BigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        abstract = True
        indexes = [
            models.Index(fields=["user", "change_number"], name="%(class)s_user_chg"),
            models.Index(fields=["user", "updated_at"], name="%(class)s_user_upd"),
        ]
