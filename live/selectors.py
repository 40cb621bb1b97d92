"""What the socket reads from the database (each call runs in a thread, one or two queries)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from sync import registry
from sync.models import Space


def socket_spaces(user_id: Any) -> tuple[int | None, dict[int, str]] | None:
    """The user's personal space and {space id: workspace id} of the workspaces they are a member of now;
    None when the user is gone or deactivated (their socket closes)."""
    if not User.objects.filter(pk=user_id, is_active=True).exists():
        return None
    personal = Space.objects.filter(user_id=user_id).values_list("id", flat=True).first()
    model = registry.membership_model_or_none()
    if model is None:
        return personal, {}
    rows = model._default_manager.filter(user_id=user_id).values_list("space_id", "space__workspace_id")
    return personal, {space_id: str(workspace_id) for space_id, workspace_id in rows}


def list_in_space(list_id: str, space_id: int) -> bool:
    return registry.require("list").model._default_manager.filter(pk=list_id, space_id=space_id).exists()


def item_space(item_id: str) -> int | None:
    items = registry.require("item").model._default_manager
    found: int | None = items.filter(pk=item_id).values_list("space_id", flat=True).first()
    return found
