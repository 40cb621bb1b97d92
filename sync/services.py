"""The versioned write path every service uses (DESIGN, "The sync model").

A write opens `change_writer(user)`: one transaction that locks the user's sync-state row, so the user's
writes are serialised; each saved or deleted entity takes the next change number, is stamped with it and
gets a change record naming the fields it set. `check_base` is the merge-or-conflict decision of
docs/api/versions.md, taken under that lock so two writers from the same base cannot both win on a field.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Subquery, Value
from django.db.models.functions import Coalesce

from core.models import OwnedModel
from core.problems import IdConflict, PreconditionFailed, VersionConflict
from core.versioning import BaseVersion
from sync import registry
from sync.models import ChangeRecord, SyncState


def lock_sync_state(user: Any) -> SyncState:
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

# A change before it is written: (number, entity type, entity id, version, field names, deleted).
_Change = tuple[int, str, UUID, int, list[str], bool]


def _write_changes(user_id: Any, changes: list[_Change]) -> None:
    ChangeRecord.objects.bulk_create(
        ChangeRecord(
            user_id=user_id,
            number=number,
            entity_type=sync_type,
            entity_id=entity_id,
            version=version,
            fields=fields,
            deleted=deleted,
        )
        for number, sync_type, entity_id, version, fields, deleted in changes
    )


class HeldSyncLock:
    """The user's sync lock held by one transaction for many writes (a push): `change_writer` and
    `lock_sync_state` inside it take numbers from this locked state instead of locking and reading the row
    again, and the change records and the counter are written once, when `held_sync_lock` ends.

    A write inside it still runs in its own savepoint; when that savepoint rolls back, `atomic` and
    `change_writer` give back the numbers and the records it took, so numbers stay gapless and in order.
    """

    def __init__(self, user: Any, state: SyncState, block: Any) -> None:
        self.user_id = user.pk
        self.state = state
        self.first_number = state.last_change_number
        self._block = block  # the atomic block of `held_sync_lock`: the lock is this state's while it runs
        self._records: list[_Change] = []
        self._written = 0  # how many of `_records` are in the database already
        # The innermost operation (`atomic`) while nothing was written in it: its block, its savepoint and
        # the mark at its start.
        self._untouched: tuple[Any, str, tuple[int, int, int]] | None = None

    def holds(self, user_id: Any, connection: Any) -> bool:
        return user_id == self.user_id and any(block is self._block for block in connection.atomic_blocks)

    def _mark(self) -> tuple[int, int, int]:
        return self.state.last_change_number, len(self._records), self._written

    def _restore(self, mark: tuple[int, int, int]) -> None:
        # The savepoint rolled back: its numbers are free again, its records never happened, and records
        # written to the database inside it (by a `write_records` it triggered) are gone with it.
        self.state.last_change_number, count, written = mark
        del self._records[count:]
        self._written = min(self._written, written)

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
            self._untouched = None if savepoint is None else (connection.atomic_blocks[-1], savepoint, mark)
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
        if untouched is None or connection.atomic_blocks[-1] is not untouched[0]:
            with self._savepoint():
                yield
            return
        _block, savepoint, mark = untouched
        try:
            yield
        except BaseException:
            # What leaving a savepoint's atomic block with an exception does (django.db.transaction).
            try:
                transaction.savepoint_rollback(savepoint)
            except DatabaseError:
                # The operation's own block rolls back as a whole; the original exception goes on.
                transaction.set_rollback(True)
            else:
                transaction.set_rollback(False)
                self._restore(mark)
                self._untouched = untouched
            raise

    def add(self, records: list[_Change]) -> None:
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


def _held_lock(user_id: Any) -> HeldSyncLock | None:
    connection = transaction.get_connection()
    held: HeldSyncLock | None = getattr(connection, _HELD_ATTRIBUTE, None)
    return held if held is not None and held.holds(user_id, connection) else None


def write_held_records(user_id: Any) -> None:
    """Makes the user's change log complete in the database before it is read, when a held lock defers
    writing it."""
    held = _held_lock(user_id)
    if held is not None:
        held.write_records()


@contextmanager
def held_sync_lock(user: Any) -> Iterator[HeldSyncLock]:
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

    def __init__(self, user: Any, state: SyncState, held: HeldSyncLock | None = None) -> None:
        self.user = user
        self.state = state
        self.held = held
        self._records: list[_Change] = []
        self.inserted: list[OwnedModel] = []

    def _take_number(self) -> int:
        self.state.last_change_number += 1
        return self.state.last_change_number

    def save(self, entity: OwnedModel, fields: Iterable[str], *, created: bool = False) -> None:
        """Saves `entity` as a new version (1 when created), stamped and recorded with `fields`."""
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
        self.record_deletions(entity.sync_type, [(entity.pk, entity.version)])
        entity.delete()

    def record_deletions(self, sync_type: str, entities: Iterable[tuple[UUID, int]]) -> None:
        """Tombstones for entities the caller deletes itself (for example by a cascade).

        Deletion hooks of `sync_type` (see `sync.registry.on_delete`) run first, so entities that refer to
        these are changed and recorded in the same transaction.
        """
        entities = list(entities)
        if entities:
            for hook in registry.deletion_hooks(sync_type):
                hook(self, [entity_id for entity_id, _ in entities])
        for entity_id, version in entities:
            self._record(self._take_number(), sync_type, entity_id, version, [], deleted=True)

    def _record(
        self, number: int, sync_type: str, entity_id: UUID, version: int, fields: list[str], *, deleted: bool
    ) -> None:
        self._records.append((number, sync_type, entity_id, version, fields, deleted))

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
def change_writer(user: Any) -> Iterator[ChangeWriter]:
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
