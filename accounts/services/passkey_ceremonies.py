"""Passkey ceremonies: the challenge of a begun registration or login, in the database so that any server
process can finish it, for PASSKEYS_CEREMONY_SECONDS (5 minutes), once.

Finishing consumes the row before anything is verified: it is read, then deleted by a conditional DELETE,
and only the caller whose DELETE removed the row may use it. Two processes finishing one ceremony at once
both read it, but the database lets only one DELETE remove it (PostgreSQL row locks; SQLite serialises
writers), so exactly one of them proceeds. A failed verification does not give the row back: a ceremony
is spent either way, so a captured answer cannot be tried again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from webauthn.helpers import generate_challenge

from accounts.models import PasskeyCeremony, User

Purpose = PasskeyCeremony.Purpose


def ceremony_begin(*, purpose: str, user: User | None, user_handle: bytes | None = None) -> PasskeyCeremony:
    """A new ceremony with a fresh 64-byte random challenge."""
    now = timezone.now()
    return PasskeyCeremony.objects.create(
        purpose=Purpose(purpose),
        challenge=generate_challenge(),
        user=user,
        user_handle=user_handle,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.PASSKEYS_CEREMONY_SECONDS),
    )


def ceremony_consume(*, ceremony_id: uuid.UUID, purpose: str) -> PasskeyCeremony | None:
    """The ceremony, now deleted, if it existed with this purpose, had not expired and this caller was the
    one that deleted it; None otherwise (unknown, already used, expired, or taken by a racing caller). An
    expired or mismatched ceremony is deleted too: whatever the outcome, it never works afterwards."""
    ceremony = PasskeyCeremony.objects.filter(pk=ceremony_id).first()
    if ceremony is None:
        return None
    # The claim: of several callers that read the row, only one DELETE removes it.
    deleted = PasskeyCeremony.objects.filter(pk=ceremony_id).delete()[0]
    if deleted != 1:
        return None
    if ceremony.purpose != purpose or ceremony.expires_at <= timezone.now():
        return None
    return ceremony


def passkey_ceremonies_prune(now: datetime | None = None) -> int:
    """Deletes the ceremonies that expired (begun and never finished); answers how many. Idempotent and
    safe with several workers at once. Run by the worker's scheduler as `accounts.passkey_ceremonies_prune`
    (every 15 minutes)."""
    return PasskeyCeremony.objects.filter(expires_at__lte=now or timezone.now()).delete()[0]
