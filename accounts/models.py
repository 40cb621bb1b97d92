"""The user: email is the login, compared case-insensitively."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone as dj_timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

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
        from sync.models import Space  # sync's models refer to the user model: imported when used

        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        # The personal space with the user, in one transaction (createsuperuser too): a space made later,
        # on a first write, could roll back after this process had read its id back (sync.spaces).
        with transaction.atomic(using=self._db):
            user.save(using=self._db)
            Space.objects.using(self._db).create(user_id=user.pk)
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
    # Every token carries the generation it was issued in (claim `gen`); logout everywhere, a password
    # change or reset and deactivation move it on, which refuses every token issued before at once
    # (accounts/user_cache.py).
    # db_default too: rows inserted with SQL (bench/reminders_fire.py) start at 0 as well.
    token_generation = models.PositiveIntegerField(default=0, db_default=0, editable=False)

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
    return {
        "focus_size": 3,
        "focus_auto_generate": False,
        "focus_time": "07:00",
        "reminder_email": False,
        "week_start": 0,
    }


def default_onboarding() -> dict[str, Any]:
    return {"completed_steps": [], "completed_at": None}


class Profile(OwnedModel):
    """The user's profile as one versioned, synced entity (`profile`). `display_name` and `timezone` live
    on the user row (login and "today" need them); every change to any of them bumps this version."""

    personal_only = True
    sync_type = "profile"
    # `display_name` and `timezone` live on the user row, versioned with the profile (profile_services).
    sync_fields = ("display_name", "timezone", "preferences", "onboarding")

    preferences = models.JSONField(default=default_preferences)
    onboarding = models.JSONField(default=default_onboarding)

    class Meta(OwnedModel.Meta):
        constraints = [models.UniqueConstraint(fields=["user"], name="profile_one_per_user")]

    def __str__(self) -> str:
        return f"profile of {self.user_id}"


class ApiKey(models.Model):
    """A personal API key (`Authorization: Api-Key <key>`). Only a SHA-256 of the key is stored; the key
    itself is shown once, on creation. `prefix` is the visible, unique head of the key that finds the row."""

    class Scope(models.TextChoices):
        READ = "read", "read"
        WRITE = "write", "write"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=32, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    is_admin = models.BooleanField(
        default=False,
        help_text="Admin keys get higher rate limits. Set by staff only, never through the API.",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["user", "-created_at"], name="apikey_user_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.Scope.WRITE in self.scopes

    def is_usable(self, now: Any = None) -> bool:
        now = now or dj_timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    # Read by core.ratelimit (which knows no models): whose budget a request spends, and how large it is.
    @property
    def rate_limit_key(self) -> str:
        return str(self.pk)

    @property
    def rate_limit_multiplier(self) -> int:
        from django.conf import settings

        return settings.RATE_LIMIT_ADMIN_KEY_MULTIPLIER if self.is_admin else 1


class AuditEvent(models.Model):
    """The append-only security log: who did what, when, from where. Rows are written by
    `accounts.audit.audit_record` and never changed: `save` refuses updates and `delete` refuses."""

    class Event(models.TextChoices):
        REGISTRATION = "registration", "registration"
        LOGIN_SUCCEEDED = "login_succeeded", "login succeeded"
        LOGIN_FAILED = "login_failed", "login failed"
        LOGOUT = "logout", "logout"
        LOGOUT_ALL = "logout_all", "logout everywhere"
        PASSWORD_CHANGED = "password_changed", "password changed"
        PASSWORD_RESET_REQUESTED = "password_reset_requested", "password reset requested"
        PASSWORD_RESET_COMPLETED = "password_reset_completed", "password reset completed"
        API_KEY_CREATED = "api_key_created", "API key created"
        API_KEY_REVOKED = "api_key_revoked", "API key revoked"
        SESSIONS_REVOKED = "sessions_revoked", "sessions revoked by staff"
        USER_DEACTIVATED = "user_deactivated", "user deactivated"
        USER_ACTIVATED = "user_activated", "user activated by staff"
        USER_CHANGED = "user_changed", "user changed by staff"
        USER_CREATED = "user_created", "user created by staff"
        API_KEY_CHANGED = "api_key_changed", "API key changed by staff"
        ACCOUNT_DELETED = "account_deleted", "account deleted"
        DATA_EXPORTED = "data_exported", "data exported"
        DATA_IMPORTED = "data_imported", "data imported"
        RATE_LIMITED = "rate_limited", "rate limited"
        ADMIN_LOGIN = "admin_login", "staff login to the admin"
        WORKSPACE_MEMBER_JOINED = "workspace_member_joined", "joined a workspace"
        WORKSPACE_MEMBER_LEFT = "workspace_member_left", "left a workspace"
        WORKSPACE_MEMBER_REMOVED = "workspace_member_removed", "removed from a workspace"
        WORKSPACE_ROLE_CHANGED = "workspace_role_changed", "workspace role changed"
        WORKSPACE_OWNERSHIP_TRANSFERRED = "workspace_ownership_transferred", "workspace ownership handed over"
        WORKSPACE_INVITATION_CREATED = "workspace_invitation_created", "invited to a workspace"
        WORKSPACE_INVITATION_REVOKED = "workspace_invitation_revoked", "workspace invitation revoked"
        WORKSPACE_DELETED = "workspace_deleted", "workspace deleted"
        PASSKEY_ADDED = "passkey_added", "passkey added"
        PASSKEY_RENAMED = "passkey_renamed", "passkey renamed"
        PASSKEY_DELETED = "passkey_deleted", "passkey deleted"
        PASSKEY_SIGN_COUNT_REGRESSED = "passkey_sign_count_regressed", "passkey sign count went back (clone?)"
        WEBHOOK_CREATED = "webhook_created", "webhook created"
        WEBHOOK_DELETED = "webhook_deleted", "webhook deleted"
        CALENDAR_FEED_CREATED = "calendar_feed_created", "calendar feed created"
        CALENDAR_FEED_REVOKED = "calendar_feed_revoked", "calendar feed revoked"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The email at the time of the event: searchable, and kept when the account is deleted.
    email = models.CharField(max_length=254, blank=True, default="")
    event = models.CharField(max_length=40, choices=Event.choices)
    created_at = models.DateTimeField(default=dj_timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    target_type = models.CharField(max_length=50, blank=True, default="")
    target_id = models.CharField(max_length=100, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["event", "-created_at"], name="audit_event_created"),
            models.Index(fields=["user", "-created_at"], name="audit_user_created"),
            models.Index(fields=["email"], name="audit_email"),
            models.Index(fields=["request_id"], name="audit_request_id"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.email or '-'} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("The audit log is append-only: an event cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("The audit log is append-only: an event cannot be deleted.")


class Session(OutstandingToken):
    """A refresh token as staff see it (simplejwt's outstanding token): who, when, until when, revoked or
    not. The table keeps only a digest of the token (accounts.services.sessions.refresh_token_digest)."""

    class Meta:
        proxy = True
        verbose_name = "session"
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user or 'a deleted user'}"


class Passkey(models.Model):
    """A WebAuthn credential that logs its user in (accounts/services/passkeys.py). The public key is not a
    secret; the private key never leaves the authenticator. `user_handle` is the random WebAuthn user id
    the authenticator stores with a discoverable credential and answers at login (never the user's id)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=100)
    credential_id = models.BinaryField(max_length=1023, unique=True, editable=False)
    public_key = models.BinaryField(editable=False)
    user_handle = models.BinaryField(max_length=64, editable=False)
    # The authenticator's signature counter at its last use; 0 for those that keep none (most passkeys).
    sign_count = models.BigIntegerField(default=0, editable=False)
    aaguid = models.CharField(max_length=36, blank=True, default="", editable=False)
    transports = models.JSONField(default=list, blank=True, editable=False)
    backed_up = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["user", "-created_at"], name="passkey_user_created")]
        constraints = [
            models.CheckConstraint(condition=models.Q(sign_count__gte=0), name="passkey_sign_count_gte_0")
        ]

    def __str__(self) -> str:
        return f"{self.name} of {self.user_id}"


class PasskeyCeremony(models.Model):
    """One begun registration or login (`auth/passkeys/*/begin`): the challenge the authenticator must sign,
    kept in the database so any server process can finish it. Deleted when finished, whatever the outcome
    (so it works once), and pruned after it expires."""

    class Purpose(models.TextChoices):
        REGISTER = "register", "register"
        LOGIN = "login", "login"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    challenge = models.BinaryField(max_length=64)
    # The registering user; at login, the user whose email was given (None for a discoverable login).
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # Registration: the WebAuthn user id given to the authenticator, kept with the passkey it makes.
    user_handle = models.BinaryField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.purpose} ceremony {self.pk}"
