"""The one writer of the audit log. Other apps call `audit_record` (export, import, account deletion)."""

from __future__ import annotations

import re
from typing import Any

from accounts.models import AuditEvent, User
from core.context import client_ip_var, request_id_var, user_agent_var

# Metadata never holds a secret: members whose name looks like one are dropped, whatever the caller sends.
_SECRET_NAME = re.compile(r"pass|token|secret|key|authorization|cookie|signature", re.IGNORECASE)


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _without_secrets(v) for k, v in value.items() if not _SECRET_NAME.search(str(k))}
    if isinstance(value, list | tuple):
        return [_without_secrets(v) for v in value]
    return value


def audit_record(
    *,
    event: str,
    user: User | None = None,
    email: str = "",
    target_type: str = "",
    target_id: str = "",
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Appends one event. The caller's IP, user agent and request id come from the request context."""
    request_id = request_id_var.get()
    return AuditEvent.objects.create(
        event=AuditEvent.Event(event),
        user=user,
        email=(email or (user.email if user is not None else ""))[:254],
        ip=client_ip_var.get(),
        user_agent=user_agent_var.get()[:512],
        request_id="" if request_id == "-" else request_id,
        target_type=target_type[:50],
        target_id=str(target_id)[:100],
        metadata=_without_secrets(metadata or {}),
    )


def audit_user_action(*, event: str, by: User | None, target: User, **metadata: Any) -> AuditEvent:
    """An event about `target` done by someone else (staff), or by no one named: `by` is who acted, and
    the target user is named by id and email."""
    return audit_record(
        event=event,
        user=by,
        target_type="user",
        target_id=str(target.pk),
        metadata={**metadata, "target_email": target.email},
    )


def audit_workspace_action(
    *, event: str, by: User | None, target: User | None, workspace_id: str, **metadata: Any
) -> AuditEvent:
    """A membership event of a workspace (workspaces.registry calls it): `by` acted, on `target`'s
    membership when there is one."""
    if target is not None:
        metadata = {**metadata, "target_user": str(target.pk), "target_email": target.email}
    return audit_record(
        event=event, user=by, target_type="workspace", target_id=workspace_id, metadata=metadata
    )
