"""API keys: created with a secret shown once (only its hash is stored), revoked, authenticated."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditEvent, User

logger = logging.getLogger("daymark.accounts")

Event = AuditEvent.Event

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
