"""The activity log of each workspace, written from its change records (docs/api/workspaces.md,
"Activity"), and pruned after WORKSPACE_ACTIVITY_RETENTION_DAYS.

`record_activity` is the sync write path's change hook (`sync.registry.on_changes`): it runs inside the
transaction that wrote the changes, so an entry exists exactly when its change does.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from sync.fields import entity_data
from sync.models import Space
from workspaces.models import Activity, Member

Action = Activity.Action

# Types whose changes are not the workspace's activity: invitations live in invitees' spaces; a deleted
# workspace takes its log with it.
_NOT_LOGGED = frozenset({"invitation"})
_LONGEST_VALUE = 200


def record_activity(
    records: list[Any], entities: dict[tuple[str, Any], Any], spaces: dict[int, Any] | None = None
) -> None:
    """One entry per change of a workspace's space (none for personal spaces). `spaces` are the space rows
    the write locked (every record's space among them), so telling a workspace's space costs no query."""
    workspaces = _workspaces_of(records, spaces)
    if not workspaces:
        return
    moved_in = {
        (record.entity_type, record.entity_id)
        for record in records
        if getattr(record, "target_space_id", None) is not None
    }
    moved_lists = {entity_id for entity_type, entity_id in moved_in if entity_type == "list"}
    deleted_workspaces = {r.entity_id for r in records if r.entity_type == "workspace" and r.deleted}
    now = timezone.now()
    entries: list[Activity] = []
    for record in records:
        workspace_id = workspaces.get(record.space_id)
        if workspace_id is None or workspace_id in deleted_workspaces or record.entity_type in _NOT_LOGGED:
            continue
        key = (record.entity_type, record.entity_id)
        entity = entities.get(key)
        if record.entity_type == "item" and moved_lists and key in moved_in:
            continue  # a list's items move with it (in bulk, with no entity): the list's own entry says so
        action = _action(record, entity, moved_in)
        if action is None:
            continue
        entries.append(
            Activity(
                workspace_id=workspace_id,
                # A microsecond apart: the entries of one write keep its order, newest first.
                at=now + timedelta(microseconds=len(entries)),
                actor_id=getattr(record, "actor_id", None),
                action=action,
                entity_type=record.entity_type,
                entity_id=record.entity_id,
                title=_title(entity)[:500],
                fields=_fields(record, entity, action),
            )
        )
    _fill_deleted_titles(entries)
    Activity.objects.bulk_create(entries)


def _workspaces_of(records: Iterable[Any], spaces: dict[int, Any] | None) -> dict[int, UUID]:
    """The records' spaces that belong to workspaces, with their workspace ids."""
    space_ids = {record.space_id for record in records}
    if spaces is not None and space_ids <= spaces.keys():
        return {
            space_id: spaces[space_id].workspace_id
            for space_id in space_ids
            if spaces[space_id].workspace_id is not None
        }
    rows = Space.objects.filter(pk__in=space_ids, workspace_id__isnull=False).values_list(
        "pk", "workspace_id"
    )
    return {space_id: workspace_id for space_id, workspace_id in rows if workspace_id is not None}


def _action(record: Any, entity: Any, moved_in: set[tuple[str, Any]]) -> str | None:
    member = record.entity_type == "member"
    if getattr(record, "target_space_id", None) is not None:
        return Action.MOVED_OUT
    if record.deleted:
        return Action.MEMBER_LEFT if member else Action.DELETED
    if (record.entity_type, record.entity_id) in moved_in:
        return Action.MOVED_IN
    if record.version == 1:
        return Action.MEMBER_JOINED if member else Action.CREATED
    changed = set(record.fields)
    if member:
        return Action.ROLE_CHANGED if "role" in changed else None
    if changed <= {"created_by", "completed_by"}:
        return None  # a deleted account forgotten by the server (lists.services.items_forget_person)
    if "status" in changed and entity is not None and hasattr(entity, "status"):
        return Action.COMPLETED if entity.status == "done" else Action.REOPENED
    if "assignee" in changed:
        return Action.ASSIGNED
    return Action.UPDATED


def _title(entity: Any) -> str:
    if entity is None:
        return ""
    if isinstance(entity, Member):
        return entity.user.display_name or entity.user.email
    return str(getattr(entity, "title", None) or getattr(entity, "name", None) or "")


def _fields(record: Any, entity: Any, action: str) -> dict[str, Any]:
    """The values the change set, for updates (a title changed to what); nothing for creations, moves and
    deletions."""
    if entity is None or action in (Action.CREATED, Action.DELETED, Action.MOVED_IN, Action.MOVED_OUT):
        return {}
    if action in (Action.MEMBER_JOINED, Action.MEMBER_LEFT):
        return {"role": entity.role}
    data = entity_data(entity)
    values = {}
    for name in record.fields:
        if name in data:
            value = data[name]
            if isinstance(value, str) and len(value) > _LONGEST_VALUE:
                value = value[: _LONGEST_VALUE - 1] + "…"
            values[name] = value
    return values


def _fill_deleted_titles(entries: list[Activity]) -> None:
    """A deleted entity is gone from the hook's entities: its title is the one its last entry had."""
    untitled = [
        entry for entry in entries if not entry.title and entry.action in (Action.DELETED, Action.MEMBER_LEFT)
    ]
    if not untitled:
        return
    rows = (
        Activity.objects.filter(entity_id__in={entry.entity_id for entry in untitled})
        .exclude(title="")
        .order_by("at")
        .values_list("entity_id", "title")
    )
    known = dict(rows)  # the latest title of each
    for entry in untitled:
        entry.title = known.get(entry.entity_id) or ""


def activity_prune(now: datetime, batch_size: int = 1000) -> int:
    """Removes entries older than WORKSPACE_ACTIVITY_RETENTION_DAYS, in batches, each its own statement;
    returns how many. `prune_sync` runs it (a step registered with `sync.registry.on_prune`)."""
    cutoff = now - timedelta(days=settings.WORKSPACE_ACTIVITY_RETENTION_DAYS)
    removed = 0
    while True:
        ids = list(
            Activity.objects.filter(at__lt=cutoff).order_by("at").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return removed
        Activity.objects.filter(pk__in=ids).delete()
        removed += len(ids)
