"""The versioned write path every service uses (docs/architecture.md, "The write path and the feed").

A write opens `change_writer(user)`: one transaction that locks the user's sync-state row, so the user's
writes are serialised; each saved or deleted entity takes the next change number, is stamped with it and
gets a change record naming the fields it set. `check_base` is the merge-or-conflict decision of
docs/api/versions.md, taken under that lock so two writers from the same base cannot both win on a field.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Model, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from core.models import OwnedModel, User
from core.problems import IdConflict, PreconditionFailed, VersionConflict
from core.versioning import BaseVersion
from sync import registry
from sync.fields import model_values
from sync.models import ChangeRecord, SyncState

Entity = TypeVar("Entity", bound=OwnedModel)


def lock_sync_state(user: User) -> SyncState:
    """The user's sync-state row, locked until the surrounding transaction ends."""
    held = _held_lock(user.pk)
    if held is not None:
        return held.state
    state = SyncState.objects.select_for_update().filter(user_id=user.pk).first()
    if state is None:
        SyncState.objects.get_or_create(user_id=user.pk)
        state = SyncState.objects.select_for_update().get(user_id=user.pk)
    return state


_HELD_ATTRIBUTE = "daymark_held_sync_lock"


class PendingChange(NamedTuple):
    """A change record before it is written."""

    number: int
    entity_type: str
    entity_id: UUID
    version: int
    fields: list[str]
    deleted: bool


class EntityVersion(NamedTuple):
    """An entity about to be deleted: its id and the version its tombstone records."""

    id: UUID
    version: int


def _write_changes(user_id: UUID, changes: list[PendingChange]) -> None:
    ChangeRecord.objects.bulk_create(ChangeRecord(user_id=user_id, **change._asdict()) for change in changes)


class _Mark(NamedTuple):
    """Where a held lock stood when a savepoint began: its counter, its records, how many were written."""

    last_number: int
    records: int
    written: int


@dataclass(frozen=True)
class _Untouched:
    """The innermost operation (`HeldSyncLock.atomic`) while nothing was written in it."""

    block: Any  # its atomic block
    savepoint: str
    mark: _Mark


class HeldSyncLock:
    """The user's sync lock held by one transaction for many writes (a push): `change_writer` and
    `lock_sync_state` inside it take numbers from this locked state instead of locking and reading the row
    again, and the change records and the counter are written once, when `held_sync_lock` ends.

    A write inside it still runs in its own savepoint; when that savepoint rolls back, `atomic` and
    `change_writer` give back the numbers and the records it took, so numbers stay gapless and in order.
    """

    def __init__(self, user: User, state: SyncState, block: Any) -> None:
        self.user_id = user.pk
        self.state = state
        self.first_number = state.last_change_number
        self._block = block  # the atomic block of `held_sync_lock`: the lock is this state's while it runs
        self._records: list[PendingChange] = []
        self._written = 0  # how many of `_records` are in the database already
        self._untouched: _Untouched | None = None

    def holds(self, user_id: UUID, connection: Any) -> bool:
        return user_id == self.user_id and any(block is self._block for block in connection.atomic_blocks)

    def _mark(self) -> _Mark:
        return _Mark(self.state.last_change_number, len(self._records), self._written)

    def _restore(self, mark: _Mark) -> None:
        # The savepoint rolled back: its numbers are free again, its records never happened, and records
        # written to the database inside it (by a `write_records` it triggered) are gone with it.
        self.state.last_change_number = mark.last_number
        del self._records[mark.records :]
        self._written = min(self._written, mark.written)

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        mark = self._mark()
        try:
            with transaction.atomic():
                yield
        except BaseException:
            self._restore(mark)
            raise

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """A savepoint for one operation of a push: all of it or nothing."""
        mark = self._mark()
        with self._savepoint():
            connection = transaction.get_connection()
            # Until its first change, the operation's savepoint also serves as the savepoint of that
            # change (see `write`).
            savepoint = connection.savepoint_ids[-1]
            self._untouched = (
                None if savepoint is None else _Untouched(connection.atomic_blocks[-1], savepoint, mark)
            )
            try:
                yield
            finally:
                # Whatever ran, an enclosing block is not untouched any more.
                self._untouched = None

    @contextmanager
    def write(self) -> Iterator[None]:
        """The savepoint of one `change_writer` block: its changes, all or nothing.

        The first write directly inside an untouched operation (`atomic`) uses the operation's savepoint
        rather than opening one more (two statements fewer per operation): on failure it rolls back to it,
        which undoes only this write since nothing was written before it, and the operation can go on (a
        service may catch the failure and try again, as the focus card services do on a unique violation).
        """
        connection = transaction.get_connection()
        untouched, self._untouched = self._untouched, None
        if untouched is None or connection.atomic_blocks[-1] is not untouched.block:
            with self._savepoint():
                yield
            return
        try:
            yield
        except BaseException:
            # What leaving a savepoint's atomic block with an exception does (django.db.transaction).
            try:
                transaction.savepoint_rollback(untouched.savepoint)
            except DatabaseError:
                # The operation's own block rolls back as a whole; the original exception goes on.
                transaction.set_rollback(True)
            else:
                transaction.set_rollback(False)
                self._restore(untouched.mark)
                self._untouched = untouched
            raise

    def add(self, records: list[PendingChange]) -> None:
        self._records.extend(records)

    def write_records(self) -> None:
        """Inserts the change records taken so far, for a reader of the change log inside the transaction."""
        pending = self._records[self._written :]
        if pending:
            _write_changes(self.user_id, pending)
            self._written = len(self._records)

    def finish(self) -> None:
        self.write_records()
        if self.state.last_change_number != self.first_number:
            SyncState.objects.filter(pk=self.state.pk).update(
                last_change_number=self.state.last_change_number
            )


def _held_lock(user_id: UUID) -> HeldSyncLock | None:
    connection = transaction.get_connection()
    held: HeldSyncLock | None = getattr(connection, _HELD_ATTRIBUTE, None)
    return held if held is not None and held.holds(user_id, connection) else None


def write_held_records(user_id: UUID) -> None:
    """Makes the user's change log complete in the database before it is read, when a held lock defers
    writing it."""
    held = _held_lock(user_id)
    if held is not None:
        held.write_records()


@contextmanager
def held_sync_lock(user: User) -> Iterator[HeldSyncLock]:
    """One transaction holding the user's sync lock for many writes, committed when the block ends.

    The held state lives on the connection only while this block runs, and is used only inside this
    block's atomic block (`holds`), so it never reaches another transaction. Nested in a caller's
    transaction, the lock is held until that one ends, as for any write.
    """
    connection = transaction.get_connection()
    previous = getattr(connection, _HELD_ATTRIBUTE, None)
    with transaction.atomic():
        held = HeldSyncLock(user, lock_sync_state(user), connection.atomic_blocks[-1])
        setattr(connection, _HELD_ATTRIBUTE, held)
        try:
            yield held
            held.finish()
        finally:
            setattr(connection, _HELD_ATTRIBUTE, previous)


class ChangeWriter:
    """Takes change numbers for one transaction and records each change."""

    def __init__(self, user: User, state: SyncState, held: HeldSyncLock | None = None) -> None:
        self.user = user
        self.state = state
        self.held = held
        self._records: list[PendingChange] = []
        self.inserted: list[OwnedModel] = []

    def _take_number(self) -> int:
        self.state.last_change_number += 1
        return self.state.last_change_number

    def save(self, entity: OwnedModel, fields: Iterable[str] | None = None, *, created: bool = False) -> None:
        """Saves `entity` as a new version (1 when created), stamped and recorded with `fields`, by default
        all its `sync_fields` (what a create sets, to a default at least)."""
        if fields is None:
            fields = entity.sync_fields
        number = self._take_number()
        entity.change_number = number
        if created:
            entity.version = 1
            entity.user = self.user
            self.inserted.append(entity)
            entity.save(force_insert=True)
        else:
            entity.version += 1
            entity.save()
        self._record(number, entity.sync_type, entity.pk, entity.version, sorted(set(fields)), deleted=False)

    def delete(self, entity: OwnedModel) -> None:
        self.record_deletions(entity.sync_type, [EntityVersion(entity.pk, entity.version)])
        entity.delete()

    def record_deletions(self, sync_type: str, entities: Iterable[tuple[UUID, int]]) -> None:
        """Tombstones for entities the caller deletes itself (for example by a cascade).

        Deletion hooks of `sync_type` (see `sync.registry.on_delete`) run first, so entities that refer to
        these are changed and recorded in the same transaction.
        """
        deleted = [EntityVersion(*entity) for entity in entities]
        if deleted:
            for hook in registry.deletion_hooks(sync_type):
                hook(self, [entity.id for entity in deleted])
        for entity in deleted:
            self._record(self._take_number(), sync_type, entity.id, entity.version, [], deleted=True)

    def _record(
        self, number: int, sync_type: str, entity_id: UUID, version: int, fields: list[str], *, deleted: bool
    ) -> None:
        self._records.append(PendingChange(number, sync_type, entity_id, version, fields, deleted))

    def flush(self) -> None:
        if not self._records:
            return
        if self.held is not None:
            self.held.add(self._records)
            self._records = []
            return
        _write_changes(self.user.pk, self._records)
        SyncState.objects.filter(pk=self.state.pk).update(last_change_number=self.state.last_change_number)
        self._records = []


@contextmanager
def change_writer(user: User) -> Iterator[ChangeWriter]:
    """One atomic write for `user`, holding the user's sync lock from the first statement to commit.

    Inside `held_sync_lock` for the same user it is a savepoint that takes numbers from the held state.
    """
    held = _held_lock(user.pk)
    if held is not None:
        with held.write():
            held_writer = ChangeWriter(user, held.state, held)
            yield held_writer
            held_writer.flush()
        return
    writer: ChangeWriter | None = None
    try:
        with transaction.atomic():
            writer = ChangeWriter(user, lock_sync_state(user))
            yield writer
            writer.flush()
    except IntegrityError:
        # Callers check client-chosen ids under the owner's lock, which does not serialise two different
        # users: when another user's concurrent create took the id first, the answer is id_conflict.
        if writer is not None and not transaction.get_connection().in_atomic_block:
            for entity in writer.inserted:
                if type(entity).objects.filter(pk=entity.pk).exclude(user_id=user.pk).exists():
                    raise IdConflict() from None
        raise


def fields_changed_since(entity: OwnedModel, version: int) -> set[str] | None:
    """Names of the fields written after `version`; None when that history was pruned (unknown).

    Ids are chosen by clients: the same id may name an entity of another type, or one that was deleted
    and created again. Only this type's records after the id's last deletion are this entity's history.
    """
    write_held_records(entity.user_id)
    history = ChangeRecord.objects.filter(
        user_id=entity.user_id, entity_type=entity.sync_type, entity_id=entity.pk
    )
    last_deletion = history.filter(deleted=True).order_by("-number").values("number")[:1]
    rows = list(
        history.filter(
            number__gt=Coalesce(Subquery(last_deletion), Value(0)), version__gt=version, deleted=False
        ).values_list("version", "fields")
    )
    if {v for v, _ in rows} != set(range(version + 1, entity.version + 1)):
        return None
    return {name for _, names in rows for name in names}


def check_base(entity: OwnedModel, base: BaseVersion, changing: Collection[str]) -> bool:
    """The merge-or-conflict decision for a write of `changing` fields on `entity` as it is now.

    Returns True when the write merges over a stale base version. Raises 412 for a stale If-Match and 409
    with the conflicting fields when a field being set was changed after the base version. Call it inside
    `change_writer`, so the entity it sees is the latest one.
    """
    if base.matches(entity.version):
        return False
    if base.strict or base.version is None:
        raise PreconditionFailed(entity=entity)
    if base.version > entity.version:
        raise VersionConflict(
            "The version you edited is newer than the stored one.",
            entity=entity,
            conflicting_fields=sorted(changing),
        )
    changed = fields_changed_since(entity, base.version)
    conflicting = set(changing) if changed is None else set(changing) & changed
    if conflicting:
        raise VersionConflict(entity=entity, conflicting_fields=sorted(conflicting))
    return True


def check_delete_base(entity: OwnedModel, base: BaseVersion) -> None:
    """A delete never merges: any version but the current one is 412 (If-Match) or 409."""
    if base.matches(entity.version):
        return
    if base.strict or base.version is None:
        raise PreconditionFailed(entity=entity)
    changed = fields_changed_since(entity, base.version) if base.version < entity.version else None
    raise VersionConflict(
        "The entity changed since the version you deleted.",
        entity=entity,
        conflicting_fields=sorted(changed or []),
    )


# --- the shared steps of the services' writes ------------------------------------------------------------


def owned_or_404(model: type[Entity], user: User, entity_id: UUID) -> Entity:
    """One of the user's entities; anyone else's is a 404, like one that does not exist
    (docs/architecture.md, convention 2)."""
    entity = model.objects.for_user(user).filter(pk=entity_id).first()
    if entity is None:
        raise Http404
    return entity


def changed_values(entity: OwnedModel, data: dict[str, Any]) -> dict[str, Any]:
    """The API fields of `data` whose value differs from the stored one (a reference compares by id)."""
    attributes = model_values(type(entity), data)
    return {
        name: value
        for (name, value), (attribute, stored) in zip(data.items(), attributes.items(), strict=True)
        if getattr(entity, attribute) != stored
    }


def create_once(
    writer: ChangeWriter,
    model: type[Entity],
    entity_id: UUID | None,
    data: dict[str, Any],
    complete: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> tuple[Entity, bool]:
    """The create of docs/api/versions.md, retried safely: an id that holds the same content already answers
    that entity (and False); the id with other content, or anyone else's, is 409 `id_conflict`. Otherwise
    the entity is made from `data` (through `complete`, for values the server derives) as version 1.
    Returns the entity and whether it was created."""
    if entity_id is not None:
        existing = model.objects.filter(pk=entity_id).first()
        if existing is not None:
            if existing.user_id != writer.user.pk or changed_values(existing, data):
                raise IdConflict()
            return existing, False
    entity = model(**_own_values(model, complete(data) if complete else data))
    if entity_id is not None:
        entity.pk = entity_id
    writer.save(entity, created=True)
    return entity, True


def versioned_update(
    writer: ChangeWriter, entity: OwnedModel, base: BaseVersion, changes: dict[str, Any]
) -> bool:
    """Writes `changes` (API fields, from `changed_values`) as a new version, after the merge-or-conflict
    decision (`check_base`). Names that are not the model's fields (a focus card's `items`) are recorded,
    and left to the caller to store. Returns whether the write merged over a stale base."""
    merged = check_base(entity, base, changes.keys())
    if changes:
        for attribute, value in _own_values(type(entity), changes).items():
            setattr(entity, attribute, value)
        writer.save(entity, changes.keys())
    return merged


def versioned_delete(writer: ChangeWriter, entity: OwnedModel, base: BaseVersion) -> None:
    """Deletes the entity if `base` is its current version (a delete never merges), leaving a tombstone."""
    check_delete_base(entity, base)
    writer.delete(entity)


def _own_values(model: type[Model], data: dict[str, Any]) -> dict[str, Any]:
    fields = {field.name for field in model._meta.concrete_fields}
    return model_values(model, {name: value for name, value in data.items() if name in fields})
