"""What reminders and notifications learn from other apps' writes, through the sync registry only: the
change records of each write (`sync.registry.on_changes`), and the deletion and holder hooks that keep
references consistent. No domain service calls this app (docs/architecture.md, layers).

Notifications for other people's changes (an invitation, an assignment, a removal from a workspace) are
written after the change commits, in a transaction of their own (`transaction.on_commit`): the change's
write locked the spaces it named, and the recipient's personal space was not always among them. A change
that rolls back makes none.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from functools import partial
from typing import Any, NamedTuple
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import transaction

from lists.services import space_user_ids
from reminders import schedule_services as schedule
from reminders import services
from reminders.models import Notification, Reminder
from sync.services import ChangeWriter
from workspaces.models import Member

logger = logging.getLogger(__name__)
Kind = Notification.Kind


class Intent(NamedTuple):
    """A notification to make once the change commits."""

    user_id: UUID
    kind: str
    data: dict[str, Any]


def on_changes(records: list[Any], entities: dict[tuple[str, UUID], Any], spaces: dict[int, Any]) -> None:
    """The change hook: keeps reminders' `fires_at` current (reminders.schedule_services), and notes the
    notifications the changes call for."""
    schedule.recompute_from_changes(records, entities)
    intents = [
        intent for record in records for intent in _intents(record, entities, spaces) if intent is not None
    ]
    if intents:
        transaction.on_commit(partial(notify, intents), robust=True)


def _intents(
    record: Any, entities: dict[tuple[str, UUID], Any], spaces: dict[int, Any]
) -> list[Intent | None]:
    if record.deleted or getattr(record, "target_space_id", None) is not None:
        return []
    entity = entities.get((record.entity_type, record.entity_id))
    if entity is None:
        return []
    if record.entity_type == "item" and "assignee" in record.fields:
        return [_assigned(record, entity, spaces)]
    if record.entity_type == "invitation" and "workspace" in record.fields:
        return [_invited(entity)]
    return []


def _assigned(record: Any, item: Any, spaces: dict[int, Any]) -> Intent | None:
    """An item assigned to someone by someone else (made with an assignee, or given one). The next
    occurrence of a recurring item is the server's copy, not an assignment."""
    assignee = item.assignee_id
    if assignee is None or assignee == record.actor_id:
        return None
    series = getattr(item, "series_id", None)
    if record.version == 1 and series is not None and series != item.pk:
        return None
    space = spaces.get(record.space_id)
    return Intent(
        assignee,
        Kind.ASSIGNED,
        {
            "item": str(item.pk),
            "title": item.title,
            "list": str(item.list_id),
            "workspace": str(space.workspace_id) if space is not None and space.workspace_id else None,
            "by": str(record.actor_id) if record.actor_id else None,
        },
    )


def _invited(invitation: Any) -> Intent | None:
    """A pending invitation reaching its invitee's space: made for an account, or attached to one that
    registered with the invited email."""
    if invitation.user_id is None or invitation.status != "pending":
        return None
    return Intent(
        invitation.user_id,
        Kind.INVITATION,
        {
            "invitation": str(invitation.pk),
            "workspace": str(invitation.workspace_id),
            "workspace_name": invitation.workspace_name,
            "role": invitation.role,
            "invited_by": str(invitation.invited_by_id) if invitation.invited_by_id else None,
            "invited_by_name": invitation.invited_by_name,
        },
    )


def notify(intents: list[Intent]) -> None:
    """Writes the notifications, one write per recipient (after the change committed). A recipient whose
    account went meanwhile gets none. `by_name` is read now, once per actor."""
    users = {
        user.pk: user
        for user in get_user_model()._default_manager.filter(
            pk__in={intent.user_id for intent in intents}
            | {UUID(intent.data["by"]) for intent in intents if intent.data.get("by")}
        )
    }
    for intent in intents:
        user = users.get(intent.user_id)
        if user is None or not user.is_active:
            continue
        data = dict(intent.data)
        if "by" in data:
            actor = users.get(UUID(data["by"])) if data["by"] else None
            data["by_name"] = (actor.display_name or actor.email) if actor is not None else ""
        try:
            services.notification_create(user=user, kind=intent.kind, data=data)
        except Exception:  # one recipient's failure does not cost the others theirs
            logger.exception("Could not write a %s notification", intent.kind)


# --- references kept consistent ---------------------------------------------------------------------------


def reminder_spaces_of_items(item_ids: Collection[UUID]) -> list[int]:
    """The personal spaces of the reminders on these items: what their deletion or move changes, locked by
    that write with its own spaces, in id order, before it reads anything (sync.registry.on_holder_spaces)."""
    reminders = Reminder.objects.filter(item_id__in=list(item_ids))
    return list(reminders.values_list("space_id", flat=True).distinct())


def on_items_deleted(writer: ChangeWriter, item_ids: list[UUID]) -> None:
    """Before items are deleted: their reminders go too, whoever set them, a tombstone each."""
    rows = Reminder.objects.filter(item_id__in=item_ids).values_list("pk", "version", "space_id")
    services.reminders_remove(writer, rows)


def on_items_moved(writer: ChangeWriter, item_ids: list[UUID], to_space_id: int) -> None:
    """Items moved to another space: the reminders of those who cannot see it go (their owners' spaces
    were locked with the move's, as holders)."""
    unseen = Reminder.objects.filter(item_id__in=item_ids).exclude(user_id__in=space_user_ids(to_space_id))
    services.reminders_remove(writer, unseen.values_list("pk", "version", "space_id"))


def on_workspaces_deleted(writer: ChangeWriter, workspace_ids: list[UUID]) -> None:
    """Before workspaces are deleted (their members are still there): every member but the one who deletes
    it is told (`workspace_removed`, with `deleted: true`) once the deletion commits. Their reminders on
    its items went with the items."""
    members = Member.objects.filter(workspace_id__in=workspace_ids).exclude(user_id=writer.user.pk)
    intents = [
        Intent(
            user_id,
            Kind.WORKSPACE_REMOVED,
            {
                "workspace": str(workspace_id),
                "workspace_name": workspace_name,
                "by": str(writer.user.pk),
                "deleted": True,
            },
        )
        for user_id, workspace_id, workspace_name in members.values_list(
            "user_id", "workspace_id", "workspace__name"
        )
    ]
    if intents:
        transaction.on_commit(partial(notify, intents), robust=True)


def on_members_deleted(writer: ChangeWriter, member_ids: list[UUID]) -> None:
    """Before memberships end (a member left or was removed): their reminders on the workspace's items go,
    in their personal space, which the removal locked with the workspace's; someone removed by another
    member is told (`workspace_removed`) once the removal commits."""
    members = list(
        Member.objects.filter(pk__in=member_ids).values_list(
            "user_id", "space_id", "workspace_id", "workspace__name"
        )
    )
    intents = []
    for user_id, space_id, workspace_id, workspace_name in members:
        theirs = Reminder.objects.filter(user_id=user_id, item__space_id=space_id)
        services.reminders_remove(writer, theirs.values_list("pk", "version", "space_id"))
        if user_id != writer.user.pk:
            intents.append(
                Intent(
                    user_id,
                    Kind.WORKSPACE_REMOVED,
                    {
                        "workspace": str(workspace_id),
                        "workspace_name": workspace_name,
                        "by": str(writer.user.pk),
                    },
                )
            )
    if intents:
        transaction.on_commit(partial(notify, intents), robust=True)
