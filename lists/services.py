"""Writes of lists and items (docs/architecture.md, convention 3): roles, moves between spaces, references,
versions, change records.

A list lives in a space: the owner's personal one, or a workspace's (`workspace`); an item lives in its
list's space, always. Every write names the role it needs where it writes (editor, `sync.spaces`), and takes
the locks of every space it touches in one `writer.lock(...)` before it reads what it decides on, so two
writers of the same spaces never deadlock and a membership removed meanwhile is seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from core.dates import local_today, user_zone
from core.models import User
from core.problems import validation_error
from core.versioning import BaseVersion
from lists import recurrence as rules
from lists.models import Item, List
from sync import registry
from sync.fields import model_values
from sync.models import ChangeRecord, Space
from sync.services import (
    ChangeWriter,
    change_writer,
    changed_values,
    check_base,
    check_delete_base,
    create_once,
    owned_or_404,
    restartable,
    versioned_delete,
    write_held_records,
)
from sync.spaces import EDITOR, at_least, personal_space_id, space_of_workspace

# Called inside the write when items leave a space for another (their list moved, or they moved to a list
# elsewhere), with the writer, the item ids and the space they went to: focus cards whose owner cannot see
# that space drop them (focus.services). Filled by apps' `ready()`; lists imports no app that imports it.
ItemsMovedHook = Callable[[ChangeWriter, list[UUID], int], None]
_items_moved_hooks: list[ItemsMovedHook] = []


def on_items_moved(hook: ItemsMovedHook) -> None:
    if hook not in _items_moved_hooks:
        _items_moved_hooks.append(hook)


def _items_moved(writer: ChangeWriter, item_ids: list[UUID], to_space_id: int) -> None:
    if item_ids:
        for hook in _items_moved_hooks:
            hook(writer, item_ids, to_space_id)


# --- who may be named in a space ------------------------------------------------------------------------


def space_user_ids(space_id: int) -> QuerySet[Any]:
    """The ids of the users who see the space: the owner of a personal one, the members of a workspace's."""
    owner = Space.objects.filter(pk=space_id, user__isnull=False).values("user_id")
    membership = registry.membership_model_or_none()
    if membership is None:
        return owner
    return owner.union(membership._default_manager.filter(space_id=space_id).values("user_id"))


def _sees(user_id: UUID, space_id: int) -> bool:
    return any(found == user_id for found in space_user_ids(space_id).values_list("user_id", flat=True))


UNSEEN_ASSIGNEE = "Must be someone who can see the item: in a personal list its owner, else a member."


def _check_assignee(assignee_id: UUID | None, space_id: int) -> None:
    if assignee_id is not None and not _sees(assignee_id, space_id):
        raise validation_error(
            {
                "assignee": [
                    "Must be someone who can see the item: in a personal list its owner, else a member."
                ]
            }
        )


def _personal_owner(writer: ChangeWriter, space_id: int) -> UUID | None:
    """The owner of a personal space, None for a workspace's: read from the space's row the write has
    locked (no query)."""
    if space_id not in writer.held.states:
        writer.lock(space_id)
    owner: UUID | None = writer.held.states[space_id].user_id
    return owner


def _owner_in(space_id: int, writer: ChangeWriter) -> UUID:
    """Whom a row of the space belongs to: the owner of a personal space; in a workspace's, the writer
    (`user` on a workspace's entity is who put it there)."""
    owner = _personal_owner(writer, space_id)
    return owner if owner is not None else writer.user.pk


# --- lists ------------------------------------------------------------------------------------------------


def _space_of(user: User, workspace_id: UUID | None) -> int:
    """The space of a list in `workspace_id`, or the user's personal space for None. A workspace that does
    not exist is a 404, as one the user is not a member of (`require_role`)."""
    if workspace_id is None:
        return personal_space_id(user)
    space = space_of_workspace(workspace_id)
    if space is None:
        raise Http404
    return space.pk


def list_create(*, user: User, data: dict[str, Any], list_id: UUID | None = None) -> tuple[List, bool]:
    """A list in the user's personal space, or in a workspace where they are at least editor (403 below,
    404 when not a member)."""
    data = {**data, "workspace": data.get("workspace")}  # a retried create is compared on it too
    with change_writer(user, personal=False) as writer:
        space_id = _space_of(user, data["workspace"])
        writer.held.require_role(user, space_id, EDITOR)
        return create_once(writer, List, list_id, data, complete=lambda values: {**values, "space": space_id})


def _peek_space(model: type[List] | type[Item], entity_id: Any) -> int | None:
    if isinstance(entity_id, model):
        return entity_id.space_id
    return model.objects.filter(pk=entity_id).values_list("space_id", flat=True).first()


def _lock_with_holders(
    writer: ChangeWriter, user: User, space_ids: Iterable[int | None], item_ids: Iterable[UUID]
) -> None:
    """The spaces a write of these items touches (those the user sees) and, when the user may write there,
    the personal spaces of the focus cards holding the items (which a deletion or a move changes, as the
    deletion and move hooks do): all locked in one go, in id order, before anything is read. A card owner's
    space often has a lower id than the workspace's; locked after it, it could deadlock with that owner's
    own writes (which lock their space first)."""
    roles = writer.held.visible(user)
    seen = [space_id for space_id in space_ids if space_id is not None and space_id in roles]
    if not seen:
        return  # nothing the user sees: the write's own checks answer 404
    holders: set[int] = set()
    if at_least(roles.get(seen[0]), EDITOR):
        holders = registry.holder_spaces(Item.sync_type, list(item_ids))
    writer.lock(*seen, *holders)


def list_holder_spaces(list_ids: Iterable[UUID]) -> set[int]:
    """The spaces of what refers to these lists' items (sync.registry.on_holder_spaces, for a push)."""
    item_ids = list(Item.objects.filter(list_id__in=list(list_ids)).values_list("pk", flat=True))
    return registry.holder_spaces(Item.sync_type, item_ids)


def _list_item_ids(list_id: Any) -> list[UUID]:
    list_pk = list_id.pk if isinstance(list_id, List) else list_id
    return list(Item.objects.filter(list_id=list_pk).values_list("pk", flat=True))


def _set(entity: List | Item, changes: dict[str, Any]) -> None:
    for attribute, value in model_values(type(entity), changes).items():
        setattr(entity, attribute, value)


@restartable
def list_update(*, user: User, list_id: UUID, base: BaseVersion, data: dict[str, Any]) -> tuple[List, bool]:
    """Changes a list (editor where it is). A new `workspace` moves it, with its items, in this one write:
    editor on both sides; whoever the items were assigned to and cannot see the new space is unassigned."""
    with change_writer(user, personal=False) as writer:
        to_space: int | None = None
        if "workspace" in data:
            to_space = _space_of(user, data["workspace"])
            _lock_with_holders(writer, user, [_peek_space(List, list_id), to_space], _list_item_ids(list_id))
        entity = owned_or_404(List, user, list_id, EDITOR)
        changes = changed_values(entity, data)
        moving = to_space is not None and to_space != entity.space_id
        if moving:
            assert to_space is not None
            writer.held.require_role(user, to_space, EDITOR)
        merged = check_base(entity, base, changes.keys())
        if changes:
            _set(entity, changes)
            if moving:
                assert to_space is not None
                _move_list(writer, entity, to_space, changes.keys())
            else:
                writer.save(entity, changes.keys())
    return entity, merged


def _move_list(writer: ChangeWriter, entity: List, to_space: int, fields: Iterable[str]) -> None:
    """The list and its items leave their space together (both spaces are locked)."""
    owner = _personal_owner(writer, to_space)
    item_ids = list(Item.objects.filter(list=entity).values_list("pk", flat=True))
    if owner is not None:
        entity.user_id = owner  # a personal entity belongs to the space's owner
        Item.objects.filter(pk__in=item_ids).exclude(user_id=owner).update(user_id=owner)
    writer.move(entity, to_space, fields)
    writer.move_many(Item, item_ids, to_space)
    unseen = Item.objects.filter(pk__in=item_ids, assignee__isnull=False).exclude(
        assignee_id__in=space_user_ids(to_space)
    )
    for item in unseen:
        item.assignee = None
        writer.save(item, ["assignee"])
    _items_moved(writer, item_ids, to_space)


@restartable
def list_delete(*, user: User, list_id: UUID, base: BaseVersion) -> None:
    """Deletes the list and its items (editor where it is); each item's deletion is recorded for sync."""
    with change_writer(user, personal=False) as writer:
        _lock_with_holders(writer, user, [_peek_space(List, list_id)], _list_item_ids(list_id))
        entity = owned_or_404(List, user, list_id, EDITOR)
        check_delete_base(entity, base)
        writer.record_deletions(
            "item", Item.objects.filter(list=entity).values_list("id", "version"), space_id=entity.space_id
        )
        writer.delete(entity)


# --- items ------------------------------------------------------------------------------------------------


def writable_list(user: User, list_id: UUID | List) -> List:
    """A list the user may put items in, read under its space's lock: editor there (403 below); one they
    cannot see is a 400 that does not say whether it exists, as for any reference. Inside a writer."""
    list_pk = list_id.pk if isinstance(list_id, List) else list_id
    try:
        return owned_or_404(List, user, list_pk, EDITOR)
    except Http404:
        raise validation_error({"list": ["No such list."]}) from None


def _completion(user: User, item: Item | None, data: dict[str, Any]) -> dict[str, Any]:
    """`completed_at` and `completed_by` follow `status`: set when it becomes done (the client's time, if
    sent and not in the future; the writer as who did it), cleared when reopened."""
    data = dict(data)
    status = data.get("status", item.status if item else Item.Status.OPEN)
    sent: datetime | None = data.get("completed_at")
    if sent is not None and sent > timezone.now():
        raise validation_error({"completed_at": ["Cannot be in the future."]})
    if status == Item.Status.DONE:
        if sent is not None:
            data["completed_at"] = sent
        elif item is None or item.status != Item.Status.DONE:
            data["completed_at"] = timezone.now()
        else:
            data.pop("completed_at", None)
        if item is None or item.status != Item.Status.DONE:
            data["completed_by"] = user.pk
    else:
        if sent is not None:
            raise validation_error({"completed_at": ["Only a done item has a completion time."]})
        data["completed_at"] = None
        data["completed_by"] = None
    return data


DUE_TIME_NEEDS_DATE = "Only an item with a due_date has a due_time."


def _due(item: Item | None, data: dict[str, Any]) -> dict[str, Any]:
    """Clearing the date clears `due_time` with it (a client that knows nothing of times can still clear a
    date), recorded as a change of both."""
    clearing = "due_date" in data and data["due_date"] is None and "due_time" not in data
    if clearing and item is not None and item.due_time is not None:
        return {**data, "due_time": None}
    return data


def _check_due(item: Item | None, data: dict[str, Any]) -> None:
    """`due_time` lives only with a `due_date`: one without a date (sent or stored) is a 400. Checked after
    the version decision, so a stale edit of a time whose date was cleared meanwhile is a conflict."""
    date = data.get("due_date", item.due_date if item else None)
    time = data.get("due_time", item.due_time if item else None)
    if time is not None and date is None:
        raise validation_error({"due_time": [DUE_TIME_NEEDS_DATE]})


# --- recurrence (docs/api/recurrence.md) ----------------------------------------------------------------

RECURRENCE_NEEDS_DATE = "A recurring item needs a due_date."
RECURRENCE_HAS_NO_DATE = (
    "The rule gives no date on or after today from this due_date (COUNT or UNTIL passed?)."
)


def _check_recurrence(user: User, item: Item | None, changes: dict[str, Any]) -> None:
    """A recurring item has a due_date (the current occurrence); a rule given to an open one must have a
    date to come in the user's calendar. A done occurrence's rule is history: an import restores it as it
    is. Checked after the version decision, like the due time."""
    recurrence = changes.get("recurrence", item.recurrence if item else None)
    if recurrence is None:
        return
    due = changes.get("due_date", item.due_date if item else None)
    if due is None:
        field = "recurrence" if item is None or "recurrence" in changes else "due_date"
        raise validation_error({field: [RECURRENCE_NEEDS_DATE]})
    status = changes.get("status", item.status if item else Item.Status.OPEN)
    if ("recurrence" in changes or item is None) and status == Item.Status.OPEN:
        rule = rules.parse_rule(recurrence["rule"])
        if not rules.has_date_from(rule, due, local_today(user)):
            raise validation_error({"recurrence": [RECURRENCE_HAS_NO_DATE]})


def _series_values(item: Item | None, item_id: UUID, changes: dict[str, Any]) -> dict[str, Any]:
    """What a recurrence written by a client sets beside it: the series (the item's own id, when it has
    none yet), and the count restarting from this occurrence when the rule is new or changed."""
    recurrence = changes.get("recurrence")
    if recurrence is None:
        return {}
    values: dict[str, Any] = {}
    if item is None or item.series is None:
        values["series"] = item_id
    before = item.recurrence if item else None
    if (
        before is None
        or before.get("rule") != recurrence["rule"]
        or item is None
        or item.series_index is None
    ):
        values["series_index"] = 1
    return values


def _was_deleted(item_id: UUID) -> bool:
    """Whether the change log remembers a deletion of this item id (pending ones of this write included)."""
    write_held_records()
    return ChangeRecord.objects.filter(entity_type=Item.sync_type, entity_id=item_id, deleted=True).exists()


def _make_next_occurrence(writer: ChangeWriter, done: Item) -> Item | None:
    """The occurrence after `done`, which just became done, in its list and space, under the id every
    device derives for it; none when the rule has no later date, when that id exists already (another
    device completed the same occurrence, or made the next one itself), or when it was deleted (deleting
    an occurrence ends the series)."""
    assert done.recurrence is not None
    assert done.due_date is not None
    assert done.completed_at is not None
    following = rules.next_occurrence(
        rules.parse_rule(done.recurrence["rule"]),
        done.recurrence["mode"],
        due_date=done.due_date,
        index=done.series_index or 1,
        completed_on=done.completed_at.astimezone(user_zone(writer.user)).date(),
        today=local_today(writer.user),
    )
    if following is None:
        return None
    series = done.series or done.pk
    next_id = uuid5(series, following.due_date.isoformat())
    if Item.objects.filter(pk=next_id).exists() or _was_deleted(next_id):
        return None
    occurrence = Item(
        id=next_id,
        list_id=done.list_id,
        space_id=done.space_id,
        user_id=_owner_in(done.space_id, writer),
        title=done.title,
        notes=done.notes,
        priority=done.priority,
        position=done.position,
        assignee_id=done.assignee_id,
        due_date=following.due_date,
        due_time=done.due_time,
        recurrence=done.recurrence,
        series=series,
        series_index=following.index,
        created_by_id=writer.user.pk,
    )
    writer.save(occurrence, created=True)
    return occurrence


def item_create(*, user: User, data: dict[str, Any], item_id: UUID | None = None) -> tuple[Item, bool]:
    """An item in a list where the user is at least editor; it lives in the list's space. An item created
    already done makes no next occurrence: it records something finished (docs/api/recurrence.md)."""
    if data.get("recurrence") is not None and item_id is None:
        item_id = uuid4()  # the series is named by it
    with change_writer(user, personal=False) as writer:
        target = writable_list(user, data["list"])
        _check_due(None, data)
        _check_recurrence(user, None, data)
        data = {**data, "list": target}
        _check_assignee(data.get("assignee"), target.space_id)

        def complete(values: dict[str, Any]) -> dict[str, Any]:
            return {
                **_completion(user, None, values),
                **(_series_values(None, item_id, values) if item_id is not None else {}),
                "space": target.space_id,
                "user": _owner_in(target.space_id, writer),
                "created_by": user.pk,
            }

        return create_once(writer, Item, item_id, data, complete=complete)


@restartable
def item_update(*, user: User, item_id: UUID, base: BaseVersion, data: dict[str, Any]) -> tuple[Item, bool]:
    """Changes an item (editor where it is). A `list` in another space moves it there: editor on both
    sides; an assignee who cannot see the new space is unassigned unless the write names another."""
    with change_writer(user, personal=False) as writer:
        if "list" in data:
            _lock_with_holders(
                writer, user, [_peek_space(Item, item_id), _peek_space(List, data["list"])], [item_id]
            )
        entity = owned_or_404(Item, user, item_id)  # first: another user's item is a 404, not a 400 on `list`
        if "list" in data:
            data = {**data, "list": writable_list(user, data["list"])}
        changes = changed_values(entity, _due(entity, data))
        if "status" in changes or "completed_at" in changes:
            changes = changed_values(
                entity, _completion(user, entity, {**changes, "status": data.get("status", entity.status)})
            )
        to_space = data["list"].space_id if "list" in changes else entity.space_id
        if "assignee" in changes:
            _check_assignee(changes["assignee"], to_space)
        elif (
            to_space != entity.space_id
            and entity.assignee_id is not None
            and not _sees(entity.assignee_id, to_space)
        ):
            changes["assignee"] = None
        merged = check_base(entity, base, changes.keys())
        _check_due(entity, changes)
        _check_recurrence(user, entity, changes)
        was_open = entity.status == Item.Status.OPEN
        if changes:
            series = _series_values(entity, entity.pk, changes)
            fields = {*changes.keys(), *(["series"] if "series" in series else [])}
            _set(entity, {**changes, **series})
            if to_space != entity.space_id:
                entity.user_id = _owner_in(to_space, writer)
                writer.move(entity, to_space, fields)
                _items_moved(writer, [entity.pk], to_space)
            else:
                writer.save(entity, fields)
            if was_open and entity.status == Item.Status.DONE and entity.recurrence is not None:
                _make_next_occurrence(writer, entity)
    return entity, merged


@restartable
def item_delete(*, user: User, item_id: UUID, base: BaseVersion) -> None:
    with change_writer(user, personal=False) as writer:
        _lock_with_holders(writer, user, [_peek_space(Item, item_id)], [item_id])
        versioned_delete(writer, owned_or_404(Item, user, item_id), base)


# --- a member's departure -------------------------------------------------------------------------------


def items_unassign_member(writer: ChangeWriter, space_id: int, user_id: UUID) -> None:
    """A member leaves a workspace (or is removed): the items assigned to them there become unassigned,
    each as a new version of `assignee`. Runs inside the removal's write, with the space locked."""
    for item in Item.objects.filter(space_id=space_id, assignee_id=user_id):
        item.assignee = None
        writer.save(item, ["assignee"])


# --- an account's deletion ------------------------------------------------------------------------------


def _naming(user_id: UUID) -> QuerySet[Item]:
    """The items that name the account as who created or completed them, outside its own personal space
    (which goes with it): in workspaces, or in someone's personal list an item moved to."""
    return Item.objects.filter(Q(created_by_id=user_id) | Q(completed_by_id=user_id)).exclude(
        space__user_id=user_id
    )


def item_people_spaces(user_id: UUID) -> set[int]:
    """The spaces `items_forget_person` writes, for the account deletion to lock up front (in id order)."""
    return set(_naming(user_id).values_list("space_id", flat=True).distinct())


def items_forget_person(writer: ChangeWriter, user_id: UUID) -> None:
    """Before an account goes: the items naming it as `created_by` or `completed_by` name no one, each as a
    new version of those fields, so every replica converges (the foreign keys would null them silently)."""
    for item in _naming(user_id):
        fields = [name for name in ("created_by", "completed_by") if getattr(item, f"{name}_id") == user_id]
        for name in fields:
            setattr(item, f"{name}_id", None)
        writer.save(item, fields)
