"""Signal receivers that only hand over to the audit service (DESIGN convention 3)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import AuditEvent, User


def record_admin_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Django's session login is only used by the admin; the API issues JWTs."""
    if isinstance(user, User):
        audit_record(
            event=AuditEvent.Event.ADMIN_LOGIN, user=user, metadata={"is_superuser": user.is_superuser}
        )
