"""Offline operations pushed through `POST sync` (docs/api/sync.md).

Each operation runs on its own, in order, through the same services the REST endpoints call (the
registry's callables) and is validated by the same serializer. Its result is saved as a
`ProcessedOperation` in the same transaction as its write, under the user's sync lock, so an operation is
never applied without its result being recorded, and a replayed `op_id` gets the first result back.

A push is one transaction that locks, once and in space-id order, the user's personal space (which
serialises the user's pushes, so a replayed `op_id` waits for the first) and every space its operations
name (the spaces of the entities and lists they refer to): each operation runs in a savepoint of it, so a
refused one leaves nothing behind and the others go on, and the operations' writes, change records and
results commit together. What does not depend on the database (the operation's shape, its base version,
its data through the type's serializer) is checked before the locks, so they are held only for the writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions as drf
from rest_framework.exceptions import ErrorDetail
from rest_framework.serializers import BaseSerializer

from core.db.json_rows import insert_json_rows
from core.models import User
from core.problems import IdConflict, PreconditionFailed, ProblemError, VersionConflict, flat_errors
from core.versioning import BaseVersion, parse_version_value
from sync import registry
from sync.models import ChangeRecord, ProcessedOperation, Space
from sync.services import HeldSpaces, held_spaces, restartable, write_held_records
from sync.spaces import personal_space_id, visible_space_ids

MAX_OPERATIONS = 100
DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE
ACTIONS = ("create", "update", "delete")
OPERATION_FIELDS = frozenset({"op_id", "type", "action", "id", "version", "data"})


class InvalidOperation(Exception):
    """The operation cannot run: its result is `invalid` with this code and these errors."""

    def __init__(self, code: str, detail: str, errors: Any = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.errors = errors


_ENCODER = DjangoJSONEncoder()
# Dates and times go to DjangoJSONEncoder, so the values are exactly what `json.dumps` with it gives.
_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _jsonable(result: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON, so the first answer and every replay of it are identical; without NUL characters, which
    PostgreSQL cannot store (an error can echo what was sent: a member named `a\u0000b`)."""
    try:
        encoded = orjson.dumps(result, default=_ENCODER.default, option=_JSON_OPTIONS)
        plain = orjson.loads(encoded)
    except orjson.JSONEncodeError:
        # orjson refuses strings that are not valid Unicode; the standard library escapes them.
        encoded = json.dumps(result, cls=DjangoJSONEncoder).encode()
        plain = json.loads(encoded)
    # Both write NUL as `\u0000`; the text `\u0000` itself also matches, and then the walk is merely idle.
    return dict(_without_nul(plain) if b"\\u0000" in encoded else plain)


def _without_nul(value: Any) -> Any:
    """`value` with each NUL character in its strings and keys replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _invalid(code: str, detail: str, errors: Any = None) -> InvalidOperation:
    return InvalidOperation(code, detail, errors)


def _uuid(value: Any, field: str) -> UUID:
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            pass
    raise _invalid("validation_error", f"`{field}` must be a UUID.", {field: ["Must be a valid UUID."]})


@dataclass
class _Prepared:
    """An operation checked before the lock: what to run, or why it cannot run (`invalid`)."""

    op_id: UUID | None
    raw_op_id: str | None = None
    invalid: InvalidOperation | None = None
    sync_type: registry.SyncType | None = None
    action: str = ""
    entity_id: UUID | None = None
    base: BaseVersion | None = None
    data: dict[str, Any] = field(default_factory=dict)


@restartable
def run_operations(user: User, operations: list[Any], context: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs the operations in order, or answers the stored result of an `op_id` already processed."""
    serializers: _Serializers = {}
    prepared = [_prepare(operation, context, serializers) for operation in operations]
    op_ids = [p.op_id for p in prepared if p.op_id is not None]
    if not op_ids:
        return [_unrecorded(p) for p in prepared]
    named = _Named.of(prepared)
    with held_spaces() as held:
        held.lock([personal_space_id(user), *_named_spaces(user, named)])
        # Every row the operations name, one query per type, read under the locks (HeldSpaces.read).
        held.preload({registry.require(name).model: ids for name, ids in named.ids.items()})
        done: dict[UUID, dict[str, Any]] = dict(
            ProcessedOperation.objects.filter(user_id=user.pk, op_id__in=op_ids).values_list(
                "op_id", "result"
            )
        )
        run = _Run(user, held, done)
        run.all(prepared)
        _store_processed(user, run.processed)
    return run.results


def _store_processed(user: User, processed: list[tuple[UUID, dict[str, Any]]]) -> None:
    """The push's processed operations, each with the result it answered, in one statement."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        ProcessedOperation.objects.bulk_create(
            ProcessedOperation(user_id=user.pk, op_id=op_id, result=result) for op_id, result in processed
        )
    elif processed:
        # One JSON parameter: psycopg quoting every result's JSON in an array cost more than the insert.
        insert_json_rows(
            connection,
            ProcessedOperation,
            ("op_id", "result"),
            processed,
            constants={"user": user.pk, "created_at": timezone.now()},
        )


class _Undo(Exception):
    """The operation at `index` failed inside a batch after it wrote: the batch rolls back."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


SUCCEEDED = frozenset({"applied", "merged"})


@dataclass
class _Run:
    """The operations of one push, run in batches: one savepoint for as many operations as succeed in a row
    (HeldSpaces.batch), two statements fewer each than a savepoint apiece. An operation that fails after it
    wrote something (rare: most refusals come before any write) rolls its batch back; the batch's
    operations up to it then run again one savepoint each, exactly as they would have alone, and the next
    batch begins after it. So each operation still applies entirely or not at all, and the results are
    those of running the operations one after another."""

    user: User
    held: HeldSpaces
    done: dict[UUID, dict[str, Any]]
    results: list[dict[str, Any]] = field(default_factory=list)
    processed: list[tuple[UUID, dict[str, Any]]] = field(default_factory=list)

    def all(self, prepared: list[_Prepared]) -> None:
        start = 0
        while start < len(prepared):
            failed = self._batch(prepared, start)
            if failed is None:
                return
            for operation in prepared[start : failed + 1]:
                self._one(operation, batch=False)
            start = failed + 1

    def _batch(self, prepared: list[_Prepared], start: int) -> int | None:
        """Runs the operations from `start` in one savepoint. Returns None when all of them ran, else the
        index of the one that failed, with the batch rolled back and forgotten."""
        results, processed, done = len(self.results), len(self.processed), dict(self.done)
        try:
            with self.held.batch():
                for index in range(start, len(prepared)):
                    if not self._one(prepared[index], batch=True):
                        raise _Undo(index)
        except _Undo as undo:
            del self.results[results:]
            del self.processed[processed:]
            self.done = done
            return undo.index
        return None

    def _one(self, operation: _Prepared, *, batch: bool) -> bool:
        """Runs one operation (or answers its earlier result); False when inside a batch it failed after
        writing, and its batch must roll back."""
        if operation.op_id is None:
            self.results.append(_unrecorded(operation))
            return True
        result = self.done.get(operation.op_id)
        if result is None:  # an op_id seen earlier in this request is a replay too
            if batch:
                step = self.held.step()
                try:
                    answer = _execute_in_batch(self.user, operation)
                except DatabaseError:
                    return False  # run again in a savepoint of its own, which knows these failures
                if self.held.step_failed(step, answer["status"] in SUCCEEDED):
                    return False
            else:
                answer = _execute(self.user, self.held, operation)
            result = _jsonable(answer)
            self.done[operation.op_id] = result
            self.processed.append((operation.op_id, result))
        self.results.append(dict(result))
        return True


@dataclass
class _Named:
    """What the operations name: the ids of each type (the entities they write, and those their data
    refers to), the entities whose delete or move changes what refers to them elsewhere, the workspaces
    their data names."""

    ids: dict[str, set[UUID]] = field(default_factory=dict)
    leaving: dict[str, set[UUID]] = field(default_factory=dict)
    workspaces: set[UUID] = field(default_factory=set)

    @classmethod
    def of(cls, prepared: list[_Prepared]) -> _Named:
        named = cls()
        for operation in prepared:
            if operation.sync_type is None or operation.entity_id is None or operation.invalid is not None:
                continue
            name = operation.sync_type.name
            named.ids.setdefault(name, set()).add(operation.entity_id)
            if registry.has_holder_spaces(name) and (
                operation.action == "delete"
                or (
                    operation.action == "update"
                    and ("list" in operation.data or "workspace" in operation.data)
                )
            ):
                # A delete or a move changes what refers to the entity (cards holding items) elsewhere.
                named.leaving.setdefault(name, set()).add(operation.entity_id)
            references = registry.references(operation.sync_type)
            for field_name, value in operation.data.items():
                # A field may name several (a card's `items`): each one's space is locked up front too.
                for reference in value if isinstance(value, list) else [value]:
                    reference = getattr(reference, "pk", reference)
                    if not isinstance(reference, UUID):
                        continue
                    if field_name == "workspace":
                        named.workspaces.add(reference)
                    elif field_name in references:
                        named.ids.setdefault(references[field_name], set()).add(reference)
        return named


def _named_spaces(user: User, named: _Named) -> set[int]:
    """The spaces the user sees that the operations name: where the entities they write are, and where the
    lists and workspaces their data refers to are, and for a delete or a move the spaces of what refers to
    the entity (sync.registry.on_holder_spaces). An entity that moves there meanwhile is locked when its
    operation reaches it (`owned_or_404`)."""
    if not named.ids and not named.workspaces:
        return set()
    visible = visible_space_ids(user)
    found: set[int] = set()
    for type_name, ids in named.ids.items():
        model = registry.require(type_name).model
        found.update(
            model.objects.filter(pk__in=ids, space_id__in=visible)
            .values_list("space_id", flat=True)
            .distinct()
        )
    if named.workspaces:
        found.update(
            Space.objects.filter(workspace_id__in=named.workspaces, pk__in=visible).values_list(
                "pk", flat=True
            )
        )
    for type_name, ids in named.leaving.items():
        # Of the entities the user sees only: another's are refused, and their holders' locks not taken.
        model = registry.require(type_name).model
        seen = list(model.objects.filter(pk__in=ids, space_id__in=visible).values_list("pk", flat=True))
        found.update(registry.holder_spaces(type_name, seen))
    return found


def _unrecorded(operation: _Prepared) -> dict[str, Any]:
    # Without a usable op_id the result cannot be stored; nothing ran.
    assert operation.invalid is not None
    return _invalid_result(operation.raw_op_id, operation.invalid)


def _prepare(operation: Any, context: dict[str, Any], serializers: _Serializers) -> _Prepared:
    """Everything about the operation that does not read the database, in the order the checks answer."""
    raw_op_id = operation.get("op_id") if isinstance(operation, dict) else None
    try:
        if not isinstance(operation, dict):
            raise _invalid("validation_error", "An operation must be an object.")
        op_id = _uuid(raw_op_id, "op_id")
    except InvalidOperation as error:
        return _Prepared(None, raw_op_id if isinstance(raw_op_id, str) else None, invalid=error)
    prepared = _Prepared(op_id)
    try:
        parsed = _parse(operation)
        prepared.sync_type, prepared.action, prepared.entity_id = parsed
        if prepared.action == "create":
            prepared.data = _validated(
                prepared.sync_type, prepared.entity_id, operation, context, serializers, partial=False
            )
        elif prepared.action == "update":
            prepared.base = _base(operation)
            prepared.data = _validated(
                prepared.sync_type, prepared.entity_id, operation, context, serializers, partial=True
            )
        else:
            if operation.get("data"):
                raise _invalid(
                    "validation_error", "A delete carries no `data`.", {"data": ["Must be absent."]}
                )
            prepared.base = _base(operation)
    except InvalidOperation as error:
        prepared.invalid = error
    return prepared


def _invalid_result(op_id: str | None, error: InvalidOperation) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "detail": error.detail}
    if error.errors is not None:
        body["errors"] = flat_errors(error.errors)  # the same shape as a problem body's `errors`
    return {"op_id": op_id, "status": "invalid", "error": body}


def _execute(user: User, held: HeldSpaces, operation: _Prepared) -> dict[str, Any]:
    """Runs the operation in a savepoint. A unique violation means a transaction the user's sync lock does
    not serialise (another user's create of the same client-chosen id, a card of the same day written
    meanwhile) committed the row after the service looked: the row is visible now, so the operation runs
    once more and the services' own rules answer (`id_conflict`, the existing card). The push goes on."""
    op_id = str(operation.op_id)
    if operation.invalid is not None:
        return _invalid_result(op_id, operation.invalid)  # refused before the lock: nothing to run
    for _attempt in range(2):
        try:
            with held.atomic():
                return _execute_once(user, op_id, operation)
        except IntegrityError:
            continue
        except OperationalError as error:
            # Two users' pushes creating the same client-chosen ids in crossed order wait on each other's
            # uncommitted rows until PostgreSQL ends one write as a deadlock. Only another user's row can be
            # in the way (the sync lock serialises the user's own writes), so the id is taken: id_conflict,
            # without a second try, which would wait on the same row again.
            if getattr(error.__cause__, "sqlstate", None) != DEADLOCK_DETECTED:
                raise
            break
    return _invalid_result(
        op_id, _invalid("id_conflict", IdConflict.default_detail, {"id": [IdConflict.default_detail]})
    )


def _execute_in_batch(user: User, operation: _Prepared) -> dict[str, Any]:
    """Runs the operation in its batch's savepoint (`_Run`); a failed statement goes to the caller, which
    runs the operation again in `_execute`."""
    op_id = str(operation.op_id)
    if operation.invalid is not None:
        return _invalid_result(op_id, operation.invalid)
    return _execute_once(user, op_id, operation)


def _execute_once(user: User, op_id: str, operation: _Prepared) -> dict[str, Any]:
    sync_type, entity_id = operation.sync_type, operation.entity_id
    try:
        assert sync_type is not None
        assert entity_id is not None
        # The service opens its own atomic block (a savepoint here): a refused write leaves nothing behind.
        # Each attempt gets its own copy of the data, as a fresh validation would give it.
        data = dict(operation.data)
        if operation.action == "create":
            return _create(user, op_id, sync_type, entity_id, data)
        assert operation.base is not None
        if operation.action == "update":
            return _update(user, op_id, sync_type, entity_id, operation.base, data)
        return _delete(user, op_id, sync_type, entity_id, operation.base)
    except (VersionConflict, PreconditionFailed) as conflict:
        assert sync_type is not None
        return {
            "op_id": op_id,
            "status": "conflict",
            "error": {
                "code": conflict.code,
                "detail": str(conflict.detail),
                "current": sync_type.represent(conflict.entity) if conflict.entity else None,
                "conflicting_fields": list(conflict.extra.get("conflicting_fields", [])),
            },
        }
    except IdConflict as error:
        # The same answer whether the id is the user's own with other content or someone else's.
        return _invalid_result(op_id, _invalid(error.code, str(error.detail), {"id": [str(error.detail)]}))
    except (Http404, drf.NotFound):
        return _invalid_result(op_id, _not_found())
    except drf.PermissionDenied as error:
        return _invalid_result(op_id, _invalid("permission_denied", str(error.detail)))
    except drf.ValidationError as error:
        return _invalid_result(
            op_id, _invalid("validation_error", "The operation has invalid fields.", _errors(error))
        )
    except ProblemError as error:
        if error.status_code == 404:  # a type's own "not found" (focus_card_not_found) is not_found here
            return _invalid_result(op_id, _not_found())
        return _invalid_result(op_id, _invalid(error.code, str(error.detail)))


def _not_found() -> InvalidOperation:
    return _invalid("not_found", "No such entity.", {"id": ["No such entity."]})


def _errors(error: drf.ValidationError) -> Any:
    detail = error.detail
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list | ErrorDetail | str):
        return {"non_field_errors": detail if isinstance(detail, list) else [detail]}
    return {"non_field_errors": [str(detail)]}


class _Parsed(NamedTuple):
    sync_type: registry.SyncType
    action: str
    entity_id: UUID


def _parse(operation: dict[str, Any]) -> _Parsed:
    unknown = sorted(str(key) for key in operation if key not in OPERATION_FIELDS)
    if unknown:
        raise _invalid(
            "validation_error", "The operation has unknown members.", {k: ["Unknown field."] for k in unknown}
        )
    type_name = operation.get("type")
    sync_type = registry.get(type_name) if isinstance(type_name, str) else None
    if sync_type is None:
        names = ", ".join(sorted(t.name for t in registry.all_types()))
        raise _invalid("validation_error", "Unknown type.", {"type": [f"Must be one of {names}."]})
    action = operation.get("action")
    if action not in ACTIONS or getattr(sync_type, str(action)) is None:
        raise _invalid(
            "validation_error", "Unknown action.", {"action": ["Must be one of create, update, delete."]}
        )
    return _Parsed(sync_type, str(action), _uuid(operation.get("id"), "id"))


def _base(operation: dict[str, Any]) -> BaseVersion:
    if operation.get("version") is None:
        raise _invalid("version_required", "Say which version you edited: `version`.")
    try:
        return BaseVersion(version=parse_version_value(operation["version"]))
    except drf.ValidationError as error:
        raise _invalid("validation_error", "`version` must be a positive integer.", _errors(error)) from error


class _SerializerKey(NamedTuple):
    type_name: str
    partial: bool


# One serializer per type and partialness for the whole request: building a serializer's fields costs more
# than validating one operation's data with them.
_Serializers = dict[_SerializerKey, BaseSerializer]


def _validated(
    sync_type: registry.SyncType,
    entity_id: UUID,
    operation: dict[str, Any],
    context: dict[str, Any],
    serializers: _Serializers,
    *,
    partial: bool,
) -> dict[str, Any]:
    data = operation.get("data", {} if partial else None)
    if not isinstance(data, dict):
        raise _invalid("validation_error", "`data` must be an object.", {"data": ["Must be an object."]})
    key = _SerializerKey(sync_type.name, partial)
    serializer = serializers.get(key)
    if serializer is None:
        serializer = sync_type.serializer(data={}, partial=partial, context=context)
        serializers[key] = serializer
    try:
        # What `is_valid` runs, without keeping the result on the serializer (it validates the next
        # operation's data too); the errors are the same as `serializer.errors`.
        values = dict(serializer.run_validation(data))
    except drf.ValidationError as error:
        raise _invalid("validation_error", "The operation has invalid fields.", error.detail) from error
    sent_id = values.pop("id", None)
    if sent_id is not None and sent_id != entity_id:
        raise _invalid("validation_error", "`data.id` differs from `id`.", {"id": ["Does not match `id`."]})
    return values


def _create(
    user: User,
    op_id: str,
    sync_type: registry.SyncType,
    entity_id: UUID,
    data: dict[str, Any],
) -> dict[str, Any]:
    assert sync_type.create is not None
    entity, _created = sync_type.create(user=user, entity_id=entity_id, data=data)
    return {"op_id": op_id, "status": "applied", "entity": sync_type.represent(entity)}


def _update(
    user: User,
    op_id: str,
    sync_type: registry.SyncType,
    entity_id: UUID,
    base: BaseVersion,
    data: dict[str, Any],
) -> dict[str, Any]:
    assert sync_type.update is not None
    entity, merged = sync_type.update(user=user, entity_id=entity_id, base=base, data=data)
    status = "merged" if merged else "applied"
    return {"op_id": op_id, "status": status, "entity": sync_type.represent(entity)}


def _delete(
    user: User, op_id: str, sync_type: registry.SyncType, entity_id: UUID, base: BaseVersion
) -> dict[str, Any]:
    assert sync_type.delete is not None
    try:
        sync_type.delete(user=user, entity_id=entity_id, base=base)
    except (Http404, ProblemError) as error:
        if isinstance(error, ProblemError) and error.status_code != 404:
            raise
        # Already gone (the user's own tombstone says so) is applied; an id the user never had, or anyone
        # else's, is not found, the same for both so nothing is revealed. A move out of the user's sight
        # sent them a tombstone too: the record it left in a space they see.
        write_held_records()
        visible = visible_space_ids(user)
        gone = (
            ChangeRecord.objects.filter(space_id__in=visible, entity_type=sync_type.name, entity_id=entity_id)
            .filter(Q(deleted=True) | (Q(target_space__isnull=False) & ~Q(target_space_id__in=visible)))
            .exists()
        )
        if not gone:
            raise
    return {"op_id": op_id, "status": "applied"}
