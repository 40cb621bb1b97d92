"""Account writes: registration, sessions (refresh tokens), password change."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Profile, User
from sync.services import change_writer


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


def session_rotate(*, raw: str) -> dict[str, str]:
    """Trades a refresh token for a new pair; the old one is revoked. Raises TokenError when it is not a
    live refresh token of an active user.

    The new pair is made for the user as they are now (simplejwt's own rotation copies the old claims,
    including the password hash it was issued under, so after a password change the device that kept its
    session got access tokens that were all rejected). Revocation is the blacklist, which a password
    change fills with every other session. The blacklist row is the claim on the token: of two uses
    racing past the check, only the one that writes the row gets a new pair.
    """
    old = RefreshToken(raw)  # type: ignore[arg-type]
    user = User.objects.filter(pk=old.get(api_settings.USER_ID_CLAIM), is_active=True).first()
    if user is None:
        raise TokenError("No active account for this token.")
    outstanding = OutstandingToken.objects.filter(jti=old.get(api_settings.JTI_CLAIM)).first()
    if outstanding is None:
        raise TokenError("Not a token this server issued.")
    with transaction.atomic():
        _, created = BlacklistedToken.objects.get_or_create(token=outstanding)
        if not created:
            raise TokenError("Token is blacklisted")
        return session_tokens(user=user)


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
