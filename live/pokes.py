"""Pokes after commit (docs/api/live.md): a write tells every socket of every user who sees what it changed
to pull `GET sync`, once per transaction however many records it wrote, and only once it commits.

`collect` is a `sync.registry.on_changes` hook: it runs inside the write transaction with the records, and
gathers the spaces written in a `_Pending` registered once per transaction with `transaction.on_commit`
(a rollback discards it with the transaction). After commit, `_Pending.flush` reads who sees those spaces
(the personal space's owner, a workspace's members, as they are now) and publishes one event naming them
(live/hub.py): every ASGI process pokes its own sockets of those users, once each. Member records also make
the members' sockets re-read their workspaces, so access follows membership at once: a removed member's
sockets leave the workspace (its pokes, presence and typing), a new member's join it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction

from live import sending
from live.tickets import tickets_forget
from sync import registry
from sync.models import Space

# Records of these types change who sees a workspace (a member added, removed, its role changed; the
# workspace deleted with its members).
_MEMBERSHIP_TYPES = frozenset({"member", "workspace"})


class _Pending:
    def __init__(self) -> None:
        self.spaces: set[int] = set()
        self.membership_spaces: set[int] = set()
        self.members: set[Any] = set()

    def flush(self) -> None:
        event: dict[str, Any] = {}
        users = users_seeing(self.spaces)
        if users:
            event["poke"] = sorted(str(user_id) for user_id in users)
        if self.membership_spaces or self.members:
            event["membership"] = {
                "spaces": sorted(self.membership_spaces),
                "users": sorted(str(user_id) for user_id in self.members),
            }
        sending.send(event)


def users_seeing(space_ids: set[int]) -> set[Any]:
    """Who sees any of these spaces now: the owners of the personal ones, the members of the workspaces'.
    One query."""
    if not space_ids:
        return set()
    owners = Space.objects.filter(pk__in=space_ids, user__isnull=False).values_list("user_id", flat=True)
    model = registry.membership_model_or_none()
    if model is None:
        return set(owners)
    members = model._default_manager.filter(space_id__in=space_ids).values_list("user_id", flat=True)
    return set(owners.union(members))


def _pending() -> _Pending:
    """This transaction's pending poke: the one its on-commit callbacks still hold, or a new one."""
    connection = transaction.get_connection()
    pending: _Pending | None = getattr(connection, "_daymark_live_pending", None)
    if pending is not None and any(callback == pending.flush for _, callback, _ in connection.run_on_commit):
        return pending
    pending = _Pending()
    connection._daymark_live_pending = pending
    transaction.on_commit(pending.flush, robust=True)
    return pending


def collect(records: list[Any], entities: dict[tuple[str, UUID], Any], spaces: dict[int, Any]) -> None:
    if not records:
        return
    pending = _pending()
    for record in records:
        pending.spaces.add(record.space_id)
        if record.target_space_id is not None:
            pending.spaces.add(record.target_space_id)
        if record.entity_type in _MEMBERSHIP_TYPES:
            pending.membership_spaces.add(record.space_id)
            member = entities.get((record.entity_type, record.entity_id))
            if record.entity_type == "member" and member is not None:
                pending.members.add(member.user_id)


def close_sockets_of(sender: Any, *, user_id: Any, **kwargs: Any) -> None:
    """`accounts.signals.credentials_revoked`: the user's sockets close with 4401 and unused tickets stop
    working."""
    tickets_forget(user_id=user_id)
    sending.send({"revoke": [str(user_id)]})
