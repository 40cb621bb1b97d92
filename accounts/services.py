"""Account writes: registration, sessions (refresh tokens), password change and reset, API keys,
account deletion.

Every security-relevant write records its audit event here (accounts.audit)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditEvent, User
from accounts.profile_services import USER_FIELDS, profile_create, profile_for, profile_update
from core.problems import validation_error
from core.versioning import ANY_VERSION
from sync.services import change_writer, lock_sync_state

logger = logging.getLogger("daymark.accounts")
Event = AuditEvent.Event


def user_register(*, email: str, password: str, display_name: str = "", timezone: str = "UTC") -> User:
    """Creates the user with its sync counter and its profile (the first change of its feed)."""
    with transaction.atomic():
        user = User.objects.create_user(
            email=email, password=password, display_name=display_name, timezone=timezone
        )
        with change_writer(user) as writer:
            profile_create(writer)
        audit_record(event=Event.REGISTRATION, user=user, target_type="user", target_id=str(user.pk))
    return user


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
            audit_record(
                event=Event.SESSIONS_REVOKED,
                user=by_staff,
                target_type="user",
                target_id=str(user.pk),
                metadata={"sessions": count, "target_email": user.email},
            )
    return count


def user_deactivate(*, user: User, by_staff: User | None = None) -> None:
    """The user can no longer log in, refresh, or use a key; every session is revoked."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        count = sessions_revoke_all(user=user)
        audit_record(
            event=Event.USER_DEACTIVATED,
            user=by_staff,
            target_type="user",
            target_id=str(user.pk),
            metadata={"sessions": count, "target_email": user.email},
        )


def user_activate(*, user: User, by_staff: User) -> None:
    """Staff let a deactivated user log in again (their revoked sessions stay revoked)."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
        audit_record(
            event=Event.USER_ACTIVATED,
            user=by_staff,
            target_type="user",
            target_id=str(user.pk),
            metadata={"target_email": user.email},
        )


def user_create_by_staff(*, user: User, by_staff: User) -> User:
    """A user made in the admin (the form built `user`, unsaved): saved with its profile, the first change
    of its feed, as registration does, and audited."""
    with transaction.atomic():
        user.save()
        profile_for(user)
        audit_record(
            event=Event.USER_CREATED,
            user=by_staff,
            target_type="user",
            target_id=str(user.pk),
            metadata={"target_email": user.email},
        )
    return user


def user_change(
    *, user: User, by_staff: User, data: dict[str, Any], other_fields: Collection[str] = ()
) -> User:
    """A staff edit of the user row in the admin, made as the API makes it: `display_name` and `timezone`
    through profile_update (the profile's version moves and clients pull the change), `is_active` through
    user_deactivate or user_activate (a deactivation revokes every session), the other fields saved as
    they are. One audit event names every changed field, with `other_fields` (groups and permissions, which
    the admin saves after the row). Returns the user as stored."""
    with transaction.atomic():
        # Not locked: profile_update takes the user's sync lock before it writes the row, as the API does.
        current = User.objects.get(pk=user.pk)
        changed = {key: value for key, value in data.items() if getattr(current, key) != value}
        profile_changes = {key: value for key, value in changed.items() if key in USER_FIELDS}
        if profile_changes:
            profile_update(user=current, base=ANY_VERSION, data=profile_changes)
        if "is_active" in changed:
            toggle = user_activate if changed["is_active"] else user_deactivate
            toggle(user=current, by_staff=by_staff)
        row_changes = [key for key in changed if key not in USER_FIELDS and key != "is_active"]
        if row_changes:
            for key in row_changes:
                setattr(current, key, changed[key])
            current.save(update_fields=row_changes)
        fields = sorted({*changed, *other_fields})
        if fields:
            audit_record(
                event=Event.USER_CHANGED,
                user=by_staff,
                target_type="user",
                target_id=str(current.pk),
                metadata={"fields": fields, "target_email": current.email},
            )
    return current


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
        audit_record(event=Event.PASSWORD_CHANGED, user=user)


def password_set(*, user: User, password: str | None, by: User | None, via: str) -> int:
    """A password set outside the API's own endpoints: by staff in the admin (for a user or for themselves)
    or by an operator with `manage.py changepassword`. `None` makes it unusable (password login disabled).
    The caller has validated it. Every session of the user is revoked, as on the API: refresh issues tokens
    for the user as they are now, so nothing else would end a session that outlived its password. Returns
    how many sessions were revoked."""
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save(update_fields=["password"])
        count = sessions_revoke_all(user=user)
        audit_record(
            event=Event.PASSWORD_CHANGED,
            user=by or user,
            target_type="user",
            target_id=str(user.pk),
            metadata={
                "sessions": count,
                "via": via,
                "usable": password is not None,
                "target_email": user.email,
            },
        )
    return count


# --- Password reset --------------------------------------------------------------------------------------


def _reset_token_for(user: User) -> str:
    """`<user id, base64>.<Django's reset token>`: one-time (it signs the password hash and last login),
    expiring after PASSWORD_RESET_TIMEOUT seconds."""
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{default_token_generator.make_token(user)}"


def password_reset_request(*, email: str) -> None:
    """Mails a reset token when an active account has this email; otherwise does the same work and sends
    nothing. The caller answers the same either way."""
    email = User.objects.normalize_email(email)
    user = User.objects.filter(email=email, is_active=True).first()
    token = _reset_token_for(user or User(email=email))
    audit_record(event=Event.PASSWORD_RESET_REQUESTED, user=user, email=email)
    if user is None:
        return
    link = settings.PASSWORD_RESET_URL.format(token=token) if settings.PASSWORD_RESET_URL else ""
    body = (
        "Someone asked to reset the password of your Daymark account.\n\n"
        + (f"Choose a new password here: {link}\n\n" if link else "")
        + f"Your reset token: {token}\n\n"
        + f"It works once and expires in {settings.PASSWORD_RESET_TIMEOUT // 60} minutes. "
        + "If you did not ask for this, ignore this email."
    )
    try:
        send_mail("Reset your Daymark password", body, None, [user.email])
    except Exception:  # the answer must not reveal that the account exists by failing
        logger.exception("Could not send the password reset email")


def password_reset_user(*, token: str) -> User | None:
    """The active user a reset token was made for, if the token is still valid."""
    uid, _, signature = token.partition(".")
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uid)), is_active=True)
    except (ValueError, TypeError, OverflowError, DjangoValidationError, User.DoesNotExist):
        return None
    return user if default_token_generator.check_token(user, signature) else None


def password_reset_complete(*, user: User, new_password: str) -> None:
    """Sets the password (which invalidates the token) and revokes every session of the user."""
    validate_password(new_password, user=user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        count = sessions_revoke_all(user=user)
        audit_record(event=Event.PASSWORD_RESET_COMPLETED, user=user, metadata={"sessions_revoked": count})


# --- API keys --------------------------------------------------------------------------------------------

API_KEY_PREFIX = "dmk_"
_API_KEY = re.compile(r"^(dmk_[0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def _hash_key(key: str) -> str:
    # The secret has 256 random bits, so a fast hash is enough: nobody can brute-force it from the hash.
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(
    *,
    user: User,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    is_admin: bool = False,
    by_staff: User | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its secret, which exists only in this return value (only its hash is stored)."""
    prefix = API_KEY_PREFIX + secrets.token_hex(6)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    ordered = [scope for scope in ApiKey.Scope.values if scope in set(scopes)]
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            hashed_key=_hash_key(key),
            scopes=ordered,
            expires_at=expires_at,
            is_admin=is_admin,
        )
        metadata: dict[str, Any] = {"name": name, "scopes": ordered, "is_admin": is_admin}
        if by_staff is not None:
            metadata["created_by"] = by_staff.email
        audit_record(
            event=Event.API_KEY_CREATED,
            user=user,
            target_type="api_key",
            target_id=str(api_key.pk),
            metadata=metadata,
        )
    return api_key, key


def api_key_revoke(*, api_key: ApiKey, by_staff: User | None = None) -> ApiKey:
    """Revokes the key (idempotent: the first revocation time stays)."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=api_key.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            metadata: dict[str, Any] = {"name": locked.name, "prefix": locked.prefix}
            if by_staff is not None:
                metadata["revoked_by"] = by_staff.email
            audit_record(
                event=Event.API_KEY_REVOKED,
                user=locked.user,
                target_type="api_key",
                target_id=str(locked.pk),
                metadata=metadata,
            )
    return locked


def api_key_change(*, api_key: ApiKey, by_staff: User, name: str, is_admin: bool) -> ApiKey:
    """Staff rename a key or change its admin flag (its rate-limit multiplier); audited with both values."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().select_related("user").get(pk=api_key.pk)
        changed = {
            key: value
            for key, value in (("name", name), ("is_admin", is_admin))
            if getattr(locked, key) != value
        }
        if changed:
            for key, value in changed.items():
                setattr(locked, key, value)
            locked.save(update_fields=list(changed))
            audit_record(
                event=Event.API_KEY_CHANGED,
                user=by_staff,
                target_type="api_key",
                target_id=str(locked.pk),
                metadata={
                    "fields": sorted(changed),
                    "name": locked.name,
                    "prefix": locked.prefix,
                    "is_admin": locked.is_admin,
                    "target_email": locked.user.email,
                },
            )
    return locked


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """The usable key (not revoked, not expired, of an active user) that `key` is, else None. Compares
    hashes in constant time; notes the use at most once per API_KEY_LAST_USED_INTERVAL_SECONDS."""
    match = _API_KEY.match(key)
    if match is None:
        return None
    api_key = ApiKey.objects.select_related("user").filter(prefix=match.group(1)).first()
    if api_key is None or not hmac.compare_digest(api_key.hashed_key, _hash_key(key)):
        return None
    now = timezone.now()
    if not api_key.is_usable(now) or not api_key.user.is_active:
        return None
    _note_use(api_key, now)
    return api_key


def _note_use(api_key: ApiKey, now: datetime) -> None:
    interval = settings.API_KEY_LAST_USED_INTERVAL_SECONDS
    try:
        first_in_interval = cache.add(f"apikey:used:{api_key.pk}", 1, timeout=interval)
    except Exception:  # the cache is down: skip the bookkeeping, never the request
        logger.exception("Cache unavailable; last_used_at not updated")
        return
    if first_in_interval:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


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
        # Recorded before the delete, with the email: the event outlives the account (user becomes null).
        audit_record(event=Event.ACCOUNT_DELETED, user=user, target_type="user", target_id=user_id)
        user.delete()
    logger.info("account deleted", extra={"deleted_user_id": user_id})
