"""What other apps plug into workspaces, so that workspaces imports none of them (docs/architecture.md,
the dependency rule): the audit log (accounts) and what a member's departure changes (lists' assignees).

Each app fills these in its `AppConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from core.models import User

if TYPE_CHECKING:
    from sync.services import ChangeWriter


class AuditCallback(Protocol):
    def __call__(
        self, *, event: str, by: User | None, target: User | None, workspace_id: str, **metadata: Any
    ) -> object: ...


# Called inside the write transaction when a member leaves or is removed, with the writer, the
# workspace's space id and the departing user's id: the lists app unassigns that member's items there
# (`unassign_member_items`), through the same writer, so each change is versioned and synced.
MemberRemovalHook = Callable[["ChangeWriter", int, Any], None]

_audit: list[AuditCallback] = []
_member_removal_hooks: list[MemberRemovalHook] = []


def set_audit(callback: AuditCallback) -> None:
    """The one writer of audit events (accounts.audit)."""
    _audit[:] = [callback]


def audit(*, event: str, by: User | None, target: User | None, workspace_id: Any, **metadata: Any) -> None:
    for callback in _audit:
        callback(event=event, by=by, target=target, workspace_id=str(workspace_id), **metadata)


def on_member_removed(hook: MemberRemovalHook) -> None:
    if hook not in _member_removal_hooks:
        _member_removal_hooks.append(hook)


def member_removal_hooks() -> list[MemberRemovalHook]:
    return list(_member_removal_hooks)
