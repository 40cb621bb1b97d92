"""The versioned write path every service uses (docs/architecture.md, "The write path and the feed").

A write opens `change_writer(actor)`: one transaction that locks the counter row of each space it writes
(`SELECT ... FOR UPDATE`), several in one go in space-id order, so a space's writes are serialised and two
writers can never deadlock; each saved, moved or deleted entity takes the next number of its space, is
stamped with it and gets a change record naming the fields it set and the actor. `check_base` is the
merge-or-conflict decision of docs/api/versions.md, taken under that lock so two writers from the same
base cannot both win on a field.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NamedTuple, ParamSpec, TypeVar
from uuid import UUID

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Case, F, Model, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from core.db.json_rows import insert_json_rows
from core.models import OwnedModel, User
from core.problems import IdConflict, PreconditionFailed, VersionConflict
from core.versioning import BaseVersion
from sync import registry
from sync.fields import model_values
from sync.models import ChangeRecord, Space
from sync.saving import save_row
from sync.spaces import EDITOR, at_least, personal_space_id, require_role, visible_roles

Entity = TypeVar("Entity", bound=OwnedModel)
Params = ParamSpec("Params")
Result = TypeVar("Result")


class PendingChange(NamedTuple):
    """A change record before it is written."""

    space_id: int
    number: int
    entity_type: str
    entity_id: UUID
    version: int
    fields: list[str]
    deleted: bool
    actor_id: UUID | None
    target_space_id: int | None = None


class EntityVersion(NamedTuple):
    """An entity about to be deleted: its id and the version its tombstone records."""

    id: UUID
    version: int


def _write_changes(
    changes: list[PendingChange], entities: dict[tuple[str, UUID], Any], spaces: dict[int, Space]
) -> None:
    records = [ChangeRecord(**change._asdict()) for change in changes]
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        _insert_records_postgresql(connection, records)
    else:
        ChangeRecord.objects.bulk_create(records)
    for hook in registry.changes_hooks():
        hook(records, entities, spaces)


# On PostgreSQL a write's change records (and its spaces' counters) go as one JSON parameter that the
# statement expands: the ORM's bulk insert spends longer adapting each value than the database spends
# inserting the rows, from one record (0.27 against 0.16 ms of CPU) to the 4,000 of a firing batch of
# reminders (docs/performance.md). SQLite keeps the ORM's statements. The fields by their attribute names
# (Django finds a field by either): the insert's columns, and what each row reads of its record.
_RECORD_COLUMNS = (
    "space_id",
    "number",
    "entity_type",
    "entity_id",
    "version",
    "fields",
    "deleted",
    "actor_id",
    "target_space_id",
)


def _insert_records_postgresql(connection: Any, records: list[ChangeRecord]) -> None:
    now = timezone.now()
    rows = [[getattr(r, attribute) for attribute in _RECORD_COLUMNS] for r in records]
    inserted = insert_json_rows(
        connection,
        ChangeRecord,
        _RECORD_COLUMNS,
        rows,
        constants={"created_at": now},
        returning=("id", "space", "number"),
    )
    ids = {(space_id, number): pk for pk, space_id, number in inserted}
    for record in records:
        record.pk = ids[(record.space_id, record.number)]
        record.created_at = now


class _Mark(NamedTuple):
    """Where held locks stood when a savepoint began: the counters, the records, how many were written."""

    numbers: dict[int, int]
    records: int
    written: int


@dataclass(frozen=True)
class _Untouched:
    """The innermost operation (`HeldSpaces.atomic`) while nothing was written in it."""

    block: Any  # its atomic block
    savepoint: str
    mark: _Mark


class _Step(NamedTuple):
    """Where an operation run inside a batch (`HeldSpaces.batch`) began: see `HeldSpaces.step_failed`."""

    mark: _Mark
    written: int  # statements that changed rows, run so far in the transaction
    errors: int  # statements that failed
    raised: int  # `change_writer` blocks left by an exception


def _clone(entity: Model) -> Model:
    """A copy of a row read once (`HeldSpaces.read`) that its user may change freely: its own state, and
    its own copies of mutable values (a JSON field's dict)."""
    clone = type(entity).__new__(type(entity))
    # What pickling a model copies: the attributes, with the state (and its cache of related rows) copied.
    state = entity.__getstate__()
    for name, value in state.items():
        if isinstance(value, dict | list):
            state[name] = copy.deepcopy(value)
    clone.__dict__.update(state)
    return clone


# What a statement does to the rows `HeldSpaces.read` keeps: a read (a SELECT, a WITH that writes nothing)
# changes nothing, a savepoint's begin and release neither, its rollback may undo any write; a write names
# its table (Django's and our own SQL quote it).
_VERB = re.compile(r"[\s(]*(\w+)")
_READS = frozenset({"SELECT", "SAVEPOINT", "RELEASE"})
_WRITES = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_WRITTEN_TABLE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?\s', re.IGNORECASE)


class HeldSpaces:
    """The space locks one transaction holds, and the numbers and change records it took.

    Every `change_writer` in the transaction takes numbers from these locked rows instead of locking and
    reading them again; the change records and the counters are written once, when the transaction's
    outermost writer (or `held_spaces`, for a push) ends.

    A write inside it runs in its own savepoint; when that savepoint rolls back, `atomic` and `write` give
    back the numbers and the records it took (and forget the locks it took, which PostgreSQL releases with
    the savepoint), so numbers stay gapless and in order.
    """

    def __init__(self, block: Any) -> None:
        self.states: dict[int, Space] = {}
        self.first_numbers: dict[int, int] = {}
        self._block = block  # the atomic block that holds the locks
        self._records: list[PendingChange] = []
        self._entities: dict[tuple[str, UUID], Any] = {}
        self._written = 0  # how many of `_records` are in the database already
        self._untouched: _Untouched | None = None
        self._visible: dict[UUID, dict[int, str]] = {}
        self._roles: dict[tuple[UUID, int], str] = {}
        # Rows read once for many operations (`preload`, `read`), by model and primary key (None: no such
        # row), and the keys the operations name, read again together when one of them is needed again.
        self._rows: dict[type[Model], dict[Any, Model | None]] = {}
        self._wanted: dict[type[Model], set[Any]] = {}
        self._tables: dict[str, type[Model]] = {}
        self._watching = False
        self._saving: tuple[str, Any] | None = None  # the row `ChangeWriter.save` is writing
        self._batch = False
        self._written_statements = 0
        self._failed_statements = 0
        self._raised = 0

    def visible(self, user: User) -> dict[int, str]:
        """The spaces the user sees, with their roles, read once per transaction: for telling a 404, which
        `require_role` confirms under the space's lock."""
        if user.pk not in self._visible:
            self._visible[user.pk] = visible_roles(user)
        return self._visible[user.pk]

    def sees(self, user: User, space_id: int) -> bool:
        """Whether the user sees the space; read again once when the transaction's answer says no (an
        earlier operation of a push may have made the space, or joined it)."""
        if space_id in self.visible(user):
            return True
        self._visible.pop(user.pk, None)
        return space_id in self.visible(user)

    def require_role(self, user: User, space_id: int, role: str) -> None:
        """`sync.spaces.require_role`, checked once per user and space while the space is locked (a
        membership change locks the space too, so the answer holds until this transaction ends). A space
        the user does not see is a 404 before any lock: its lock is not theirs to take, and taken after
        their personal space's it would come after a higher id (a stranger's write racing an invitation
        to them, which locks both, could deadlock)."""
        if space_id not in self.states:
            if not self.sees(user, space_id):
                raise Http404
            self.lock([space_id])
        key = (user.pk, space_id)
        found = self._roles.get(key)
        if found is None:
            found = require_role(user, space_id, role)
            self._roles[key] = found
        elif not at_least(found, role):
            require_role(user, space_id, role)

    def holds(self, connection: Any) -> bool:
        return any(block is self._block for block in connection.atomic_blocks)

    def lock(self, space_ids: Iterable[int]) -> None:
        """Locks the counters of the spaces not held yet, in id order, in one statement.

        A space below one already held (an entity moved there between the write's first look and its
        locks) is taken out of order. Waiting for it could deadlock with a writer that holds it and waits
        for ours, so in a write that can start over (`restartable`) it is taken only if it is free now;
        if not, the write starts over (LockOutOfOrder) and takes every lock in order the second time."""
        wanted = sorted({space_id for space_id in space_ids if space_id not in self.states})
        if not wanted:
            return
        if self.states and wanted[0] < max(self.states) and self._restartable():
            late = [space_id for space_id in wanted if space_id < max(self.states)]
            taken = list(Space.objects.select_for_update(skip_locked=True).filter(pk__in=late).order_by("pk"))
            if len(taken) < len(late) and Space.objects.filter(pk__in=late).count() > len(taken):
                raise LockOutOfOrder(late)
            self._hold(taken)
            wanted = wanted[len(late) :]
            if not wanted:
                return
        self._hold(Space.objects.select_for_update().filter(pk__in=wanted).order_by("pk"))

    def _hold(self, locked: Iterable[Space]) -> None:
        for state in locked:
            self.states[state.pk] = state
            self.first_numbers[state.pk] = state.last_change_number

    def _restartable(self) -> bool:
        """Whether this transaction is a `restartable` call's own (not a caller's, which would have to
        start over too), on a database whose locks can be tried without waiting."""
        connection = transaction.get_connection()
        return (
            _RESTARTABLE.get()
            and connection.features.has_select_for_update_skip_locked
            and bool(connection.atomic_blocks)
            and connection.atomic_blocks[0] is self._block
        )

    def take_number(self, space_id: int) -> int:
        if space_id not in self.states:
            self.lock([space_id])
        state = self.states[space_id]
        state.last_change_number += 1
        return state.last_change_number

    def _mark(self) -> _Mark:
        numbers = {space_id: state.last_change_number for space_id, state in self.states.items()}
        return _Mark(numbers, len(self._records), self._written)

    def _restore(self, mark: _Mark) -> None:
        # The savepoint rolled back: its numbers are free again, its records never happened, records
        # written to the database inside it are gone with it, and so are the locks it took.
        for space_id in list(self.states):
            if space_id in mark.numbers:
                self.states[space_id].last_change_number = mark.numbers[space_id]
            else:
                del self.states[space_id]
                del self.first_numbers[space_id]
        del self._records[mark.records :]
        self._written = min(self._written, mark.written)
        self._roles = {key: role for key, role in self._roles.items() if key[1] in self.states}
        # Rows read inside it may show its writes, and the spaces seen may hold one it made: read again.
        self._forget_all()
        self._visible.clear()

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
        """The savepoint of one `change_writer` block nested in a held transaction: all or nothing.

        The first write directly inside an untouched operation (`atomic`) uses the operation's savepoint
        rather than opening one more (two statements fewer per operation): on failure it rolls back to it,
        which undoes only this write since nothing was written before it, and the operation can go on (a
        service may catch the failure and try again, as the focus card services do on a unique violation).
        """
        if self._batch:
            # The batch's savepoint serves every write in it; a failure is the batch's to undo
            # (`step_failed`).
            try:
                yield
            except BaseException:
                self._raised += 1
                raise
            return
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

    # --- many operations in one savepoint (a push) ---------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One savepoint for a run of a push's operations instead of one for each: their writes take no
        savepoint of their own (`write`). An operation that fails after it wrote something cannot be undone
        alone, so the caller asks `step_failed` after each one and, when it says so, leaves this block by
        an exception: the whole run rolls back (numbers, records and rows read given back, as for any
        savepoint) and the caller runs those operations again one savepoint each (sync.push)."""
        self.watch()
        self._batch = True
        try:
            with self._savepoint():
                yield
        finally:
            self._batch = False

    def step(self) -> _Step:
        """Where the next operation of a batch begins."""
        return _Step(self._mark(), self._written_statements, self._failed_statements, self._raised)

    def step_failed(self, step: _Step, succeeded: bool) -> bool:
        """Whether the operation begun at `step` left something a savepoint of its own would have undone: a
        statement failed (on PostgreSQL the transaction cannot go on), or it did not succeed (an error, a
        conflict) or one of its writes failed, after it wrote rows, took numbers or recorded changes. An
        operation refused before it wrote anything, as most refusals are, leaves nothing to undo. A
        transaction marked for rollback (by code that caught a failure inside an atomic block without a
        savepoint) would make the batch's savepoint roll back without an exception when it ends, undoing
        operations answered as applied: that fails the step too, so the batch runs again one by one."""
        if self._failed_statements != step.errors or transaction.get_connection().needs_rollback:
            return True
        if succeeded and self._raised == step.raised:
            return False
        return self._written_statements != step.written or self._changed_since(step.mark)

    def _changed_since(self, mark: _Mark) -> bool:
        """Whether numbers were taken or records added or written since `mark` (a lock taken is no change:
        it stays held, and is held in `states`, until the transaction ends)."""
        if (len(self._records), self._written) != (mark.records, mark.written):
            return True
        return any(
            state.last_change_number != mark.numbers.get(space_id, self.first_numbers[space_id])
            for space_id, state in self.states.items()
        )

    # --- rows read once for many operations (a push) ------------------------------------------------------

    def preload(self, ids: Mapping[type[Model], Collection[Any]]) -> None:
        """Reads the rows of these ids, one query per model, for `read` to answer from. Call it with the
        spaces of the rows locked, so only this transaction can change them until it ends."""
        self.watch()
        for model, keys in ids.items():
            to_key = model._meta.pk.to_python
            wanted = self._wanted.setdefault(model, set())
            wanted.update(to_key(key) for key in keys)
            self._tables[model._meta.db_table] = model
            self._load(model, wanted - self._rows.setdefault(model, {}).keys())

    def _load(self, model: type[Model], keys: Collection[Any]) -> None:
        rows = self._rows[model]
        found = {row.pk: row for row in model._default_manager.filter(pk__in=keys)}
        for key in keys:
            rows[key] = found.get(key)

    def read(self, model: type[Entity], key: Any, *, fresh: bool = False) -> Entity | None:
        """The row of `model` with primary key `key` (None: there is none) as the database holds it now in
        this transaction: from the rows read by `preload` when they hold it and nothing since wrote it (each
        answer a copy of its own), else read now (`fresh`: always), with the other named rows that a write
        of this transaction made stale. A model that was not preloaded is read as a write outside a push
        reads it."""
        rows = self._rows.get(model)
        if rows is None:
            return model._default_manager.filter(pk=key).first()
        key = model._meta.pk.to_python(key)
        if fresh:
            rows.pop(key, None)
        if key not in rows:
            self._load(model, {key} | (self._wanted[model] - rows.keys()))
        found = rows[key]
        return None if found is None else _clone(found)  # type: ignore[return-value]

    @contextmanager
    def saving(self, entity: Model) -> Iterator[None]:
        """`ChangeWriter.save` writes this one row: only its kept copy (if any) is stale after it."""
        self._saving = (entity._meta.db_table, entity.pk)
        try:
            yield
        finally:
            self._saving = None

    def watch(self) -> None:
        """Watches every statement of the connection until the transaction's block ends (`held_spaces`)."""
        if not self._watching:
            transaction.get_connection().execute_wrappers.append(self._watch)
            self._watching = True

    def unwatch(self) -> None:
        if self._watching:
            transaction.get_connection().execute_wrappers.remove(self._watch)
            self._watching = False

    def _watch(self, execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        """An execute wrapper (django.db.connection.execute_wrapper): counts the statements that write and
        those that fail, and forgets the kept rows a write may have changed: the one row `save` writes, or
        every row of a table some other statement writes (a bulk update, a cascade, a hook's write), or
        every row when it cannot tell the table."""
        text = sql if isinstance(sql, str) else ""
        found = _VERB.match(text)
        verb = found.group(1).upper() if found else ""
        if verb == "ROLLBACK":
            self._forget_all()
        elif verb not in _READS and not (verb == "WITH" and _WRITES.search(text) is None):
            self._written_statements += 1
            self._forget(text)
        try:
            return execute(sql, params, many, context)
        except BaseException:
            self._failed_statements += 1
            raise

    def _forget_all(self) -> None:
        for rows in self._rows.values():
            rows.clear()

    def _forget(self, sql: str) -> None:
        if not self._rows:
            return
        matched = _WRITTEN_TABLE.match(sql)
        if matched is None:
            self._forget_all()
            return
        model = self._tables.get(matched.group(1))
        if model is None:
            return
        saving = self._saving
        if saving is not None and saving[0] == matched.group(1):
            self._rows[model].pop(saving[1], None)
        else:
            self._rows[model].clear()

    def add(self, records: list[PendingChange], entities: dict[tuple[str, UUID], Any]) -> None:
        self._records.extend(records)
        self._entities.update(entities)

    def write_records(self) -> None:
        """Inserts the change records taken so far, for a reader of the change log inside the transaction."""
        pending = self._records[self._written :]
        if pending:
            _write_changes(pending, self._entities, self.states)
            self._written = len(self._records)

    def finish(self) -> None:
        self.write_records()
        moved = [
            (space_id, state.last_change_number)
            for space_id, state in self.states.items()
            if state.last_change_number != self.first_numbers[space_id]
        ]
        connection = transaction.get_connection()
        if connection.vendor == "postgresql" and moved:
            table = connection.ops.quote_name(Space._meta.db_table)
            # Only our own table's name goes into the text; the numbers are one parameter.
            sql = (
                f"UPDATE {table} SET last_change_number = (r->>1)::bigint "  # noqa: S608
                f"FROM jsonb_array_elements(%s::jsonb) AS r WHERE {table}.id = (r->>0)::bigint"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [json.dumps(moved)])
            return
        for space_id, number in moved:
            Space.objects.filter(pk=space_id).update(last_change_number=number)


_HELD_ATTRIBUTE = "daymark_held_spaces"


def _held() -> HeldSpaces | None:
    connection = transaction.get_connection()
    held: HeldSpaces | None = getattr(connection, _HELD_ATTRIBUTE, None)
    return held if held is not None and held.holds(connection) else None


class LockOutOfOrder(Exception):
    """A write needs a space below one it holds, and another transaction holds that space now."""


_RESTARTABLE: ContextVar[bool] = ContextVar("daymark_restartable", default=False)
RESTARTS = 3


def restartable(function: Callable[Params, Result]) -> Callable[Params, Result]:
    """Runs a write of one transaction again, from its beginning, when it met a space lock it could only
    take out of order while another transaction held it (`HeldSpaces.lock`): the first run gives its
    locks back by rolling back, the next looks at where the entities are now and locks in order. Called
    inside a caller's transaction it cannot start over alone and runs once, waiting for the lock (and
    PostgreSQL ends a deadlock, should one form). After RESTARTS starts over, the last run waits too."""

    @functools.wraps(function)
    def run(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        if transaction.get_connection().in_atomic_block:
            return function(*args, **kwargs)
        for _attempt in range(RESTARTS):
            token = _RESTARTABLE.set(True)
            try:
                return function(*args, **kwargs)
            except LockOutOfOrder:
                continue
            finally:
                _RESTARTABLE.reset(token)
        return function(*args, **kwargs)

    return run


def write_held_records() -> None:
    """Makes the change log complete in the database before it is read, when held locks defer writing it."""
    held = _held()
    if held is not None:
        held.write_records()


def lock_spaces(*space_ids: int) -> None:
    """Locks these spaces' counters for the rest of the current write (in id order with each other)."""
    held = _held()
    if held is None:
        raise RuntimeError("lock_spaces needs a change_writer or held_spaces block")
    held.lock(space_ids)


@contextmanager
def held_spaces() -> Iterator[HeldSpaces]:
    """One transaction holding space locks for many writes, committed when the block ends.

    The held state lives on the connection only while this block runs, and is used only inside this
    block's atomic block (`holds`), so it never reaches another transaction. Nested in a caller's
    transaction, the locks are held until that one ends, as for any write.
    """
    existing = _held()
    if existing is not None:
        yield existing
        return
    connection = transaction.get_connection()
    previous = getattr(connection, _HELD_ATTRIBUTE, None)
    with transaction.atomic():
        held = HeldSpaces(connection.atomic_blocks[-1])
        setattr(connection, _HELD_ATTRIBUTE, held)
        try:
            yield held
            held.finish()
        finally:
            held.unwatch()
            setattr(connection, _HELD_ATTRIBUTE, previous)


class ChangeWriter:
    """Takes change numbers for one write and records each change, with `user` as its actor."""

    def __init__(self, user: User, held: HeldSpaces) -> None:
        self.user = user
        self.held = held
        self._records: list[PendingChange] = []
        self._entities: dict[tuple[str, UUID], Any] = {}
        self.inserted: list[OwnedModel] = []

    def lock(self, *space_ids: int) -> None:
        """Locks the counters of these spaces (in id order) before the write reads what it decides on."""
        self.held.lock(space_ids)

    @property
    def personal_space_id(self) -> int:
        return personal_space_id(self.user)

    def save(self, entity: OwnedModel, fields: Iterable[str] | None = None, *, created: bool = False) -> None:
        """Saves `entity` as a new version (1 when created), stamped and recorded with `fields`, by default
        all its `sync_fields` (what a create sets, to a default at least). A created entity without a space
        goes to the actor's personal space, and without an owner is the actor's."""
        if fields is None:
            fields = entity.sync_fields
        if created:
            if entity.space_id is None:
                entity.space_id = self.personal_space_id
            if entity.user_id is None:
                entity.user = self.user
        number = self.held.take_number(entity.space_id)
        entity.change_number = number
        if created:
            entity.version = 1
            self.inserted.append(entity)
            with self.held.saving(entity):
                save_row(entity, insert=True)
        else:
            entity.version += 1
            with self.held.saving(entity):
                save_row(entity, insert=False)
        self._record(
            entity.space_id, number, entity.sync_type, entity.pk, entity.version, sorted(set(fields))
        )
        self._entities[(entity.sync_type, entity.pk)] = entity

    def stamp_many(
        self, entities: Iterable[OwnedModel], fields: Iterable[str] | None = None, *, created: bool = False
    ) -> None:
        """`save` for many entities that the caller then stores itself in a few statements (a bulk insert,
        one UPDATE): each gets its space and owner (when created), its next number and version, and its
        change record, exactly as `save` gives them, but nothing is written here. Firing thousands of
        reminders a second cannot afford a statement per row (docs/performance.md)."""
        names = None if fields is None else sorted(set(fields))
        for entity in entities:
            if created:
                if entity.space_id is None:
                    entity.space_id = self.personal_space_id
                if entity.user_id is None:
                    entity.user = self.user
            number = self.held.take_number(entity.space_id)
            entity.change_number = number
            entity.version = 1 if created else entity.version + 1
            if created:
                self.inserted.append(entity)
            recorded = sorted(entity.sync_fields) if names is None else names
            self._record(entity.space_id, number, entity.sync_type, entity.pk, entity.version, recorded)
            self._entities[(entity.sync_type, entity.pk)] = entity

    def move(self, entity: OwnedModel, to_space_id: int, fields: Iterable[str]) -> None:
        """Moves `entity` to another space as a new version: its old space keeps a record that it left
        (a tombstone for whoever cannot see the new space), the new one numbers its arrival. Lock both
        spaces first (`lock`)."""
        from_space_id = entity.space_id
        if from_space_id != to_space_id:
            number = self.held.take_number(from_space_id)
            self._record(
                from_space_id, number, entity.sync_type, entity.pk, entity.version + 1, [], target=to_space_id
            )
            entity.space_id = to_space_id
        self.save(entity, fields)

    def move_many(self, model: type[OwnedModel], ids: list[UUID], to_space_id: int) -> None:
        """`move` for many entities of one type and one space (a list's items), in a fixed number of
        statements. Each gets a new version that records the space change only."""
        rows = list(
            model._base_manager.filter(pk__in=ids)
            .exclude(space_id=to_space_id)
            .values_list("pk", "version", "space_id")
        )
        if not rows:
            return
        sync_type = model.sync_type
        arrivals: dict[UUID, int] = {}
        for entity_id, version, from_space_id in rows:
            number = self.held.take_number(from_space_id)
            self._record(from_space_id, number, sync_type, entity_id, version + 1, [], target=to_space_id)
            arrivals[entity_id] = self.held.take_number(to_space_id)
            self._record(to_space_id, arrivals[entity_id], sync_type, entity_id, version + 1, [])
        connection = transaction.get_connection()
        if connection.vendor == "postgresql":
            _move_rows_postgresql(connection, model, arrivals, to_space_id)
            return
        # One UPDATE, each row given the number it took.
        model._base_manager.filter(pk__in=list(arrivals)).update(
            space_id=to_space_id,
            version=F("version") + 1,
            change_number=Case(*[When(pk=pk, then=Value(number)) for pk, number in arrivals.items()]),
        )

    def delete(self, entity: OwnedModel) -> None:
        self.record_deletions(entity.sync_type, [EntityVersion(entity.pk, entity.version)], entity.space_id)
        entity.delete()

    def record_deletions(
        self, sync_type: str, entities: Iterable[tuple[UUID, int]], space_id: int | None = None
    ) -> None:
        """Tombstones for entities of one space that the caller deletes itself (for example by a cascade).

        Deletion hooks of `sync_type` (see `sync.registry.on_delete`) run first, so entities that refer to
        these are changed and recorded in the same transaction.
        """
        deleted = [EntityVersion(*entity) for entity in entities]
        if not deleted:
            return
        space = self.personal_space_id if space_id is None else space_id
        for hook in registry.deletion_hooks(sync_type):
            hook(self, [entity.id for entity in deleted])
        for entity in deleted:
            number = self.held.take_number(space)
            self._record(space, number, sync_type, entity.id, entity.version, [], deleted=True)
            self._entities[(sync_type, entity.id)] = None

    def _record(
        self,
        space_id: int,
        number: int,
        sync_type: str,
        entity_id: UUID,
        version: int,
        fields: list[str],
        *,
        deleted: bool = False,
        target: int | None = None,
    ) -> None:
        self._records.append(
            PendingChange(
                space_id, number, sync_type, entity_id, version, fields, deleted, self.user.pk, target
            )
        )

    def flush(self) -> None:
        if self._records:
            self.held.add(self._records, self._entities)
            self._records = []
            self._entities = {}


@contextmanager
def change_writer(user: User, *, personal: bool = True) -> Iterator[ChangeWriter]:
    """One atomic write by `user`. With `personal` (the default) it locks the user's personal space first,
    for a service that writes only there; a service that may write a workspace's space passes
    `personal=False` and locks what it touches (`ChangeWriter.lock`, `owned_or_404`), so its locks are
    taken in one order with any other space it needs.

    Inside another write's transaction (a push) it is a savepoint that takes numbers from the held locks.
    """
    held = _held()
    if held is not None:
        with held.write():
            writer = ChangeWriter(user, held)
            if personal:
                writer.lock(writer.personal_space_id)
            yield writer
            writer.flush()
        return
    new_writer: ChangeWriter | None = None
    try:
        with held_spaces() as new_held:
            new_writer = ChangeWriter(user, new_held)
            if personal:
                new_writer.lock(new_writer.personal_space_id)
            yield new_writer
            new_writer.flush()
    except IntegrityError:
        # Callers check client-chosen ids under the space's lock, which does not serialise writers of other
        # spaces: when another user's concurrent create took the id first, the answer is id_conflict.
        if new_writer is not None and not transaction.get_connection().in_atomic_block:
            roles = visible_roles(user)
            for entity in new_writer.inserted:
                found = type(entity).objects.filter(pk=entity.pk).values_list("space_id", flat=True).first()
                if found is not None and found not in roles:
                    raise IdConflict() from None
        raise


def _move_rows_postgresql(
    connection: Any, model: type[OwnedModel], arrivals: dict[UUID, int], to_space_id: int
) -> None:
    """`move_many`'s UPDATE with the new numbers as two arrays joined to the rows: a CASE of one branch
    per row costs the ORM about 0.2 ms a row to build (docs/performance.md, moving a list)."""
    meta = model._meta
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    space, version, number = (
        quote(meta.get_field(name).column)  # type: ignore[union-attr]  # concrete fields of OwnedModel
        for name in ("space", "version", "change_number")
    )
    # Only quoted column names of our own model go into the text; every value is a parameter.
    sql = (
        f"UPDATE {table} SET {space} = %s, {version} = {table}.{version} + 1, {number} = arrival.number "  # noqa: S608
        f"FROM unnest(%s::uuid[], %s::bigint[]) AS arrival(id, number) WHERE {table}.{pk} = arrival.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [to_space_id, list(arrivals), list(arrivals.values())])


def fields_changed_since(entity: OwnedModel, version: int) -> set[str] | None:
    """Names of the fields written after `version`; None when that history was pruned (unknown).

    Ids are chosen by clients: the same id may name an entity of another type, or one that was deleted
    and created again. Only this type's records after the id's last deletion are this entity's history.
    """
    write_held_records()
    # An entity's history may span spaces (it moved): records are ordered by their insertion, which follows
    # the entity's writes (each is made under the lock of the space the entity was in).
    history = ChangeRecord.objects.filter(entity_type=entity.sync_type, entity_id=entity.pk)
    last_deletion = history.filter(deleted=True).order_by("-id").values("id")[:1]
    rows = list(
        history.filter(
            id__gt=Coalesce(Subquery(last_deletion), Value(0)), version__gt=version, deleted=False
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


def owned_or_404(model: type[Entity], user: User, entity_id: UUID, role: str = EDITOR) -> Entity:
    """An entity the user may write with `role`, read under its space's lock (taken here when the write
    holds no lock of that space yet); one they cannot see is a 404, like one that does not exist
    (docs/architecture.md, convention 2), and one they see with a lower role a 403.

    Call it inside `change_writer`. An entity that moves to another space between the first read and the
    lock is read again under that space's lock too."""
    held = _held()
    if held is None:
        raise RuntimeError("owned_or_404 reads for a write: call it inside change_writer")
    entity = held.read(model, entity_id)
    for _attempt in range(3):
        if entity is None or not held.sees(user, entity.space_id):
            raise Http404
        if entity.space_id in held.states:
            # Read while its space is locked by this write: nothing else can change it or move it away.
            held.require_role(user, entity.space_id, role)
            return entity
        held.lock([entity.space_id])
        entity = held.read(model, entity_id, fresh=True)
    raise Http404


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
        existing = writer.held.read(model, entity_id)
        if existing is not None:
            if not writer.held.sees(writer.user, existing.space_id) or changed_values(existing, data):
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
