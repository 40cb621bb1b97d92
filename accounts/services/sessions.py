"""Sessions: login, the refresh tokens behind them, rotation and revocation."""

from __future__ import annotations

import hashlib
import uuid

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token

from accounts.audit import audit_record, audit_user_action
from accounts.models import AuditEvent, User
from accounts.signals import credentials_revoked_after_commit
from accounts.user_cache import GENERATION_CLAIM, tokens_revoke

Event = AuditEvent.Event


def token_user_id(token: Token) -> uuid.UUID | None:
    """The user id (`sub`) a token names; None when it is no UUID, which no token we issue has."""
    try:
        return uuid.UUID(str(token.get(api_settings.USER_ID_CLAIM)))
    except ValueError:
        return None


def session_login(*, request: HttpRequest | None, email: str, password: str) -> dict[str, str] | None:
    """A new session for the right credentials of an active user; None (and a logged failure) otherwise."""
    user = authenticate(request, email=email, password=password)
    if user is None or not isinstance(user, User):
        audit_record(event=Event.LOGIN_FAILED, email=User.objects.normalize_email(email))
        return None
    audit_record(event=Event.LOGIN_SUCCEEDED, user=user)
    return session_tokens(user=user)


def session_tokens(*, user: User) -> dict[str, str]:
    """A new refresh token (recorded, so it can be revoked) and its access token."""
    refresh = RefreshToken.for_user(user)
    # Copied into the access token: the generation it belongs to (accounts/user_cache.py).
    refresh[GENERATION_CLAIM] = user.token_generation
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
    user_id = token_user_id(old)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
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


REFRESH_DIGEST_PREFIX = "sha256:"


def refresh_token_digest(token: str) -> str:
    """What the outstanding-token table keeps of a refresh token: its SHA-256, never the token, so neither
    the admin nor a database dump holds one that refreshes. Revocation goes by `jti`, which needs no
    token; a digest is kept as it is."""
    if token.startswith(REFRESH_DIGEST_PREFIX):
        return token
    return REFRESH_DIGEST_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def session_revoke_by_staff(*, session: OutstandingToken, by_staff: User) -> bool:
    """Staff revoke one session (refresh token) from the admin; audited. False if it was already revoked."""
    with transaction.atomic():
        _, created = BlacklistedToken.objects.get_or_create(token=session)
        if created:
            audit_record(
                event=Event.SESSIONS_REVOKED,
                user=by_staff,
                target_type="refresh_token",
                target_id=session.jti,
                metadata={"sessions": 1, "target_email": session.user.email if session.user else ""},
            )
    return created


def session_revoke(*, user: User, refresh: RefreshToken) -> None:
    refresh.blacklist()
    audit_record(event=Event.LOGOUT, user=user, target_type="refresh_token", target_id=str(refresh["jti"]))


def session_revoke_everywhere(*, user: User, by_staff: User | None = None) -> int:
    """Logout everywhere (by the user, or by staff from the admin): every refresh token is revoked."""
    with transaction.atomic():
        count = sessions_revoke_all(user=user)
        if by_staff is None:
            audit_record(event=Event.LOGOUT_ALL, user=user, metadata={"sessions": count})
        else:
            audit_user_action(event=Event.SESSIONS_REVOKED, by=by_staff, target=user, sessions=count)
    return count


def sessions_revoke_all(*, user: User, keep_jti: str | None = None) -> int:
    """Blacklists every outstanding refresh token of `user` (but `keep_jti`); returns how many. Every
    caller (logout everywhere, password changes and resets, deactivation) ends the user's trust in what
    was issued before, so `credentials_revoked` goes out after commit: open live sockets close."""
    credentials_revoked_after_commit(user_id=user.pk)
    # And the access tokens: refused from the commit on, by every process.
    tokens_revoke(user.pk)
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    if keep_jti:
        outstanding = outstanding.exclude(jti=keep_jti)
    blacklisted = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(blacklisted, ignore_conflicts=True)
    return len(blacklisted)
