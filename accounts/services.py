"""Account writes: registration, sessions (refresh tokens), password change, account deletion."""

from __future__ import annotations

import logging

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Profile, User
from core.problems import validation_error
from sync.services import change_writer, lock_sync_state

logger = logging.getLogger("daymark.accounts")


def user_register(*, email: str, password: str, display_name: str = "", timezone: str = "UTC") -> User:
    """Creates the user with its sync counter and its profile (the first change of its feed)."""
    with transaction.atomic():
        user = User.objects.create_user(
            email=email, password=password, display_name=display_name, timezone=timezone
        )
        with change_writer(user) as writer:
            writer.save(Profile(), ["display_name", "timezone", "preferences", "onboarding"], created=True)
    return user


def session_tokens(*, user: User) -> dict[str, str]:
    """A new refresh token (recorded, so it can be revoked) and its access token."""
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def session_revoke(*, refresh: RefreshToken) -> None:
    refresh.blacklist()


def sessions_revoke_all(*, user: User, keep_jti: str | None = None) -> int:
    """Blacklists every outstanding refresh token of `user` (but `keep_jti`); returns how many."""
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    if keep_jti:
        outstanding = outstanding.exclude(jti=keep_jti)
    blacklisted = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(blacklisted, ignore_conflicts=True)
    return len(blacklisted)


def password_change(*, user: User, new_password: str, keep_jti: str | None = None) -> None:
    validate_password(new_password, user=user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        sessions_revoke_all(user=user, keep_jti=keep_jti)


def account_delete(*, user: User, password: str) -> None:
    """Deletes the user and everything it owns (every owned row cascades from the user, refresh tokens
    included), after checking the password: a stolen access token alone cannot erase an account.

    Wrong or empty password: 400 `validation_error` on `password` (not 401: the caller is authenticated,
    the field is wrong), and nothing changes.
    """
    if not password or not user.check_password(password):
        raise validation_error({"password": ["Wrong password."]})
    user_id = str(user.pk)
    with transaction.atomic():
        # Waits for the user's writes in flight, so none commits into a half-deleted account.
        lock_sync_state(user)
        user.delete()
    logger.info("account deleted", extra={"deleted_user_id": user_id})
