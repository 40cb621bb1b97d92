"""Stream tickets: issued to an authenticated caller, redeemed once within LIVE_TICKET_SECONDS by the
socket that opens with it (any process: they live in the database)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from live.models import StreamTicket


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def ticket_issue(*, user: User) -> str:
    """A new single-use ticket for `user`. Expired tickets are deleted on the way (by the index on
    `expires_at`), so the table holds only the last half minute's."""
    now = timezone.now()
    StreamTicket.objects.filter(expires_at__lt=now).delete()
    ticket = secrets.token_urlsafe(32)
    StreamTicket.objects.create(
        digest=_digest(ticket), user=user, expires_at=now + timedelta(seconds=settings.LIVE_TICKET_SECONDS)
    )
    return ticket


def ticket_redeem(*, ticket: str) -> Any | None:
    """The id of the active user a live ticket was issued to, or None (unknown, used, expired, or its user
    deactivated). Of two sockets racing with one ticket only the one whose DELETE removes the row wins."""
    if not ticket or len(ticket) > 200:
        return None
    found = (
        StreamTicket.objects.filter(digest=_digest(ticket), expires_at__gt=timezone.now())
        .filter(user__is_active=True)
        .values_list("digest", "user_id")
        .first()
    )
    if found is None:
        return None
    deleted, _ = StreamTicket.objects.filter(digest=found[0]).delete()
    return found[1] if deleted else None


def tickets_forget(*, user_id: Any) -> None:
    """The user's credentials were revoked: tickets issued under them stop working too."""
    StreamTicket.objects.filter(user_id=user_id).delete()
