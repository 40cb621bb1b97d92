"""Signal receivers that only hand over to a service (docs/architecture.md, convention 3)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from accounts.services.sessions import refresh_token_digest


def record_admin_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Django's session login is only used by the admin; the API issues JWTs."""
    if isinstance(user, User):
        audit_record(
            event=AuditEvent.Event.ADMIN_LOGIN, user=user, metadata={"is_superuser": user.is_superuser}
        )


def digest_refresh_token(sender: Any, instance: OutstandingToken, **kwargs: Any) -> None:
    """simplejwt records every refresh token it issues or blacklists with the token itself; whichever of
    its paths saves the row, only the digest is written."""
    instance.token = refresh_token_digest(instance.token)
