"""The outbox: webhook events written in the transaction of the change that made them (docs/api/webhooks.md).

`collect` is a `sync.registry.on_changes` hook: it runs inside the write's transaction with its change
records, so a committed change always has its events and deliveries, and a rolled-back one never does.
Every endpoint whose owner sees the record's space gets the event: the owner of a personal space, every
member of a workspace's (whoever made the change; `data.actor` says who).

A write of types that make no events costs nothing; any other costs one query when nobody concerned has
an active endpoint (tests/webhooks/test_outbox.py pins both).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, NamedTuple
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sync import registry
from webhooks.models import Delivery, Endpoint, Event
from webhooks.services import event_body
from workspaces.models import Member

# The change records that can make events.
_TYPES = frozenset({"list", "item", "reminder", "member", "workspace"})
_LEFT_ATTRIBUTE = "_daymark_webhooks_members_leaving"


def register_all() -> None:
    registry.on_changes(collect)
    registry.on_delete("member", note_members_leaving)
    registry.on_delete("workspace", note_workspaces_deleted)


class Leaving(NamedTuple):
    user_id: UUID
    workspace_id: UUID
    space_id: int


def note_members_leaving(writer: Any, member_ids: list[UUID]) -> None:
    """Before memberships end: who they were, for `workspace.member_left` (the record names only the
    membership's id, and the member no longer sees the space when the hook runs). The same write's other
    changes of the space reach them too: they saw them until then."""
    _note_leaving(Member.objects.filter(pk__in=member_ids))


def note_workspaces_deleted(writer: Any, workspace_ids: list[UUID]) -> None:
    """Before a workspace is deleted: its members, whose memberships go with it (a cascade, with no
    records of their own); each is a `workspace.member_left` of the workspace's deletion record."""
    _note_leaving(Member.objects.filter(workspace_id__in=workspace_ids))


def _note_leaving(members: Any) -> None:
    rows = members.values_list("pk", "user_id", "workspace_id", "space_id")
    _leaving().update(
        {pk: Leaving(user_id, workspace_id, space_id) for pk, user_id, workspace_id, space_id in rows}
    )


def _leaving() -> dict[UUID, Leaving]:
    """This transaction's leaving members (kept on the connection with its outermost atomic block, so a
    transaction never reads what a rolled-back one noted)."""
    connection = transaction.get_connection()
    block = connection.atomic_blocks[0] if connection.atomic_blocks else None
    noted = getattr(connection, _LEFT_ATTRIBUTE, None)
    if noted is None or noted[0] is not block:
        noted = (block, {})
        setattr(connection, _LEFT_ATTRIBUTE, noted)
    leaving: dict[UUID, Leaving] = noted[1]
    return leaving


class _MemberGone(NamedTuple):
    """A membership that ended with its workspace, as if it had a deletion record of its own."""

    space_id: int
    entity_id: UUID
    actor_id: UUID | None
    entity_type: str = "member"
    deleted: bool = True
    version: int = 0
    fields: tuple[str, ...] = ()
    target_space_id: int | None = None


def _with_members_of_deleted_workspaces(records: list[Any]) -> list[Any]:
    deleted = {r.entity_id: r for r in records if r.entity_type == "workspace" and r.deleted}
    if not deleted:
        return records
    gone = [
        _MemberGone(record.space_id, member_id, record.actor_id)
        for member_id, leaving in _leaving().items()
        if (record := deleted.get(leaving.workspace_id)) is not None
    ]
    return [*records, *gone]


def collect(records: list[Any], entities: dict[tuple[str, UUID], Any], spaces: dict[int, Any]) -> None:
    relevant = [record for record in records if record.entity_type in _TYPES]
    if not relevant:
        return
    relevant = _with_members_of_deleted_workspaces(relevant)
    space_ids = {record.space_id for record in relevant} | {
        record.target_space_id for record in relevant if record.target_space_id is not None
    }
    owners = {space_id: spaces[space_id].user_id for space_id in space_ids if space_id in spaces}
    personal = {space_id: user_id for space_id, user_id in owners.items() if user_id is not None}
    shared = space_ids - personal.keys()
    leaving = _leaving()
    left = {
        record.entity_id: leaving[record.entity_id]
        for record in relevant
        if record.entity_type == "member" and record.deleted and record.entity_id in leaving
    }
    users = Q(user_id__in=set(personal.values()) | {gone.user_id for gone in left.values()})
    if shared:
        users |= Q(user_id__in=Member.objects.filter(space_id__in=shared).values("user_id"))
    endpoints = list(Endpoint.objects.filter(users, active=True).only("pk", "user_id", "events"))
    if not endpoints:
        return
    _write(relevant, entities, personal, shared, left, endpoints)


class _Viewers:
    """Who of the endpoints' owners sees which space (as the write leaves them)."""

    def __init__(
        self, personal: dict[int, UUID], shared: set[int], owners: set[UUID], left: dict[UUID, Leaving]
    ) -> None:
        self.by_space: dict[int, set[UUID]] = defaultdict(set)
        for space_id, user_id in personal.items():
            self.by_space[space_id].add(user_id)
        for gone in left.values():
            self.by_space[gone.space_id].add(gone.user_id)
        if shared:
            rows = Member.objects.filter(space_id__in=shared, user_id__in=owners).values_list(
                "space_id", "user_id"
            )
            for space_id, user_id in rows:
                self.by_space[space_id].add(user_id)

    def of(self, space_id: int | None) -> set[UUID]:
        return self.by_space.get(space_id, set()) if space_id is not None else set()


def _write(
    records: list[Any],
    entities: dict[tuple[str, UUID], Any],
    personal: dict[int, UUID],
    shared: set[int],
    left: dict[UUID, Leaving],
    endpoints: list[Endpoint],
) -> None:
    viewers = _Viewers(personal, shared, {endpoint.user_id for endpoint in endpoints}, left)
    by_owner: dict[UUID, list[Endpoint]] = defaultdict(list)
    for endpoint in endpoints:
        by_owner[endpoint.user_id].append(endpoint)
    # Where each moved entity came from: its arrival is an update for those who saw it there.
    departures = {
        (record.entity_type, record.entity_id): record for record in records if record.target_space_id
    }
    known = entities | _load_missing(records, entities, departures)
    now = timezone.now()
    events: list[Event] = []
    deliveries: list[Delivery] = []
    for record in records:
        for event_type, audience in _decide(record, known, departures, viewers, left):
            targets = [
                endpoint
                for user_id in audience
                for endpoint in by_owner.get(user_id, ())
                if endpoint.wants(event_type)
            ]
            if not targets:
                continue
            data = _data(record, event_type, known, left)
            event = Event(type=event_type, body=event_body(event_type, data, now), created_at=now)
            events.append(event)
            deliveries += [
                Delivery(endpoint=endpoint, event=event, next_attempt_at=now, created_at=now)
                for endpoint in targets
            ]
    if events:
        Event.objects.bulk_create(events)
        Delivery.objects.bulk_create(deliveries)


def _load_missing(
    records: list[Any], entities: dict[tuple[str, UUID], Any], departures: dict[tuple[str, UUID], Any]
) -> dict[tuple[str, UUID], Any]:
    """Entities the write did not hand over (a list's items moved in bulk), read in one query per type."""
    missing: dict[str, set[UUID]] = defaultdict(set)
    for record in records:
        key = (record.entity_type, record.entity_id)
        if not record.deleted and entities.get(key) is None and key not in entities:
            missing[record.entity_type].add(record.entity_id)
    loaded: dict[tuple[str, UUID], Any] = {}
    for type_name, ids in missing.items():
        model = registry.require(type_name).model
        for entity in model._base_manager.filter(pk__in=ids):
            loaded[(type_name, entity.pk)] = entity
    return loaded


def _decide(
    record: Any,
    entities: dict[tuple[str, UUID], Any],
    departures: dict[tuple[str, UUID], Any],
    viewers: _Viewers,
    left: dict[UUID, Leaving],
) -> list[tuple[str, set[UUID]]]:
    """The events of one record, each with the users it is for."""
    kind, key = record.entity_type, (record.entity_type, record.entity_id)
    if kind == "workspace":
        return []  # no event of its own: a deleted workspace's members each left it (_MemberGone)
    seeing = viewers.of(record.space_id)
    if record.target_space_id is not None:
        # Moved away: gone for those who do not see where it went.
        if kind in ("list", "item"):
            return [(f"{kind}.deleted", seeing - viewers.of(record.target_space_id))]
        return []
    entity = entities.get(key)
    if kind == "member":
        if record.deleted:
            gone = left.get(record.entity_id)
            return [("workspace.member_left", seeing | ({gone.user_id} if gone else set()))]
        return [("workspace.member_joined", seeing)] if record.version == 1 else []
    if kind == "reminder":
        fired = not record.deleted and "fired_at" in record.fields and getattr(entity, "fired_at", None)
        return [("reminder.fired", seeing)] if fired else []
    if record.deleted:
        return [(f"{kind}.deleted", seeing)]
    if entity is None:
        return []
    departure = departures.get(key)
    if departure is not None:
        saw_it = viewers.of(departure.space_id)
        return [(f"{kind}.updated", seeing & saw_it), (f"{kind}.created", seeing - saw_it)]
    if record.version == 1:
        return [(f"{kind}.created", seeing)]
    changed = set(record.fields)
    if kind == "item" and "status" in changed:
        return [("item.completed" if entity.status == "done" else "item.reopened", seeing)]
    if changed and changed <= {"created_by", "completed_by"}:
        return []  # a deleted account forgotten by the server, not a change anyone made
    return [(f"{kind}.updated", seeing)]


def _data(
    record: Any, event_type: str, entities: dict[tuple[str, UUID], Any], left: dict[UUID, Leaving]
) -> dict[str, Any]:
    actor = str(record.actor_id) if record.actor_id else None
    entity = entities.get((record.entity_type, record.entity_id))
    if event_type.endswith(".deleted") or event_type == "workspace.member_left" or entity is None:
        data: dict[str, Any] = {"id": str(record.entity_id)}
        gone = left.get(record.entity_id)
        if event_type == "workspace.member_left" and gone is not None:
            data |= {"user": str(gone.user_id), "workspace": str(gone.workspace_id)}
        return data | {"actor": actor}
    sync_type = registry.require(record.entity_type)
    return sync_type.to_data(entity) | sync_type.represent(entity) | {"actor": actor}
