"""Signals accounts sends, and receivers that only hand over to a service (docs/architecture.md,
convention 3)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.http import HttpRequest
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.audit import audit_record
from accounts.models import AuditEvent, User

# Sent after commit (sender=User, user_id=...) when every credential of a user stops being trusted: logout
# everywhere, a password change or reset, deactivation, account deletion. Integrations holding connections
# open (live updates) close the user's; domain apps send it through the services below, never directly.
credentials_revoked = Signal()


def credentials_revoked_after_commit(*, user_id: Any) -> None:
    """Sends `credentials_revoked` once the current transaction commits (at once outside one), so nothing
    acts on a revocation that rolls back."""
    transaction.on_commit(lambda: credentials_revoked.send(sender=User, user_id=user_id), robust=True)


def record_admin_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Django's session login is only used by the admin; the API issues JWTs."""
    if isinstance(user, User):
        audit_record(
            event=AuditEvent.Event.ADMIN_LOGIN, user=user, metadata={"is_superuser": user.is_superuser}
        )


def digest_refresh_token(sender: Any, instance: OutstandingToken, **kwargs: Any) -> None:
    """simplejwt records every refresh token it issues or blacklists with the token itself; whichever of
    its paths saves the row, only the digest is written."""
    from accounts.services.sessions import refresh_token_digest  # here: sessions sends this module's signal

    instance.token = refresh_token_digest(instance.token)
