"""The user: email is the login, compared case-insensitively."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as dj_timezone

from accounts.validators import validate_timezone
from core.models import OwnedModel


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        """Emails are stored lower-cased, so uniqueness and login are case-insensitive."""
        return (email or "").strip().lower()

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=self.normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(max_length=254, unique=True)
    display_name = models.CharField(max_length=100, blank=True, default="")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=dj_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="user_email_lowercase"),
        ]
        indexes = [models.Index(fields=["date_joined"], name="user_date_joined")]

    def __str__(self) -> str:
        return self.email


def default_preferences() -> dict[str, Any]:
    return {"focus_size": 3, "focus_auto_generate": False, "week_start": 0}


def default_onboarding() -> dict[str, Any]:
    return {"completed_steps": [], "completed_at": None}


class Profile(OwnedModel):
    """The user's profile as one versioned, synced entity (`profile`). `display_name` and `timezone` live
    on the user row (login and "today" need them); every change to any of them bumps this version."""

    sync_type = "profile"

    preferences = models.JSONField(default=default_preferences)
    onboarding = models.JSONField(default=default_onboarding)

    class Meta(OwnedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["user"], name="profile_one_per_user")]

    def __str__(self) -> str:
        return f"profile of {self.user_id}"
