"""The change feed of docs/api/sync.md: what changed for one user after a cursor.

Live entities are read by their `change_number` (each once, in its latest state) and deletions from the
tombstones. Everything is bounded by the user's committed `last_change_number` H, read first: a user's
writes are serialised by the sync-state lock and that counter commits with them, so every change numbered
up to H is already visible, and a change that commits later gets a number above H and the next pull finds
it. That is why a client that always continues from the returned cursor never misses a change.

Queries per request, whatever the page size: the sync state, read together with whether each registered
type (and, for an incremental sync, the tombstones) has anything numbered above the cursor; then one per
type that has (plus one for a type whose data lives partly in other rows, a focus card's item ids, when
the page holds such entities); and when there are tombstones to read, one statement that reads them
together with the prune watermark again. Skipping is exact: that first statement sees one snapshot, in
which every change up to H is committed, and a change that commits later is numbered above H.

This is the hottest read of the API (a full sync is thousands of rows), so its statements are written once
per connection from the models' metadata and reused, and rows come back from the database JSON-ready
(SyncType's `feed_columns`, sync.columns) instead of as model instances formatted in Python.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Field, Model, Q, QuerySet

from core.models import User
from core.pagination import parse_limit
from core.problems import CursorExpired, validation_error
from sync import registry
from sync.columns import UUIDText, uuid_text_sql
from sync.models import ChangeRecord, SyncState

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
_MAX_CURSOR_DIGITS = 18  # fits a signed 64-bit change number
MAX_CURSOR = 10**_MAX_CURSOR_DIGITS - 1


@dataclass(frozen=True)
class FeedPosition:
    """The user's committed counter and prune watermark, read once per answer."""

    head: int
    pruned_through: int


def parse_cursor(raw: Any) -> int:
    """A cursor from the query string or a JSON body: absent, or a non-negative integer."""
    if raw is None or raw == "":
        return 0
    if isinstance(raw, bool):
        raise validation_error({"cursor": ["Must be a non-negative integer."]})
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= _MAX_CURSOR_DIGITS:
        raw = int(raw)
    if not isinstance(raw, int) or not 0 <= raw < 10**_MAX_CURSOR_DIGITS:
        raise validation_error({"cursor": ["Must be a non-negative integer."]})
    return raw


def parse_feed_limit(raw: str | None) -> int:
    return parse_limit(raw, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)


def position_of(user: User) -> FeedPosition:
    row = (
        SyncState.objects.filter(user_id=user.pk).values_list("last_change_number", "pruned_through").first()
    )
    return FeedPosition(*row) if row else FeedPosition(0, 0)


def check_cursor(cursor: int, position: FeedPosition) -> None:
    """A cursor from the future is a 400; one older than what was pruned is a 410 (do a full sync)."""
    if cursor > position.head:
        raise validation_error({"cursor": ["This cursor was never issued."]})
    if 0 < cursor < position.pruned_through:
        raise CursorExpired()


# A row of the feed before paging: (change number, type name, entity id, deleted, what `_render` needs:
# the row's JSON-ready values, or the model instance for a type without `feed_columns`, or None). A plain
# tuple, not a NamedTuple: a full sync makes one per entity, and a NamedTuple costs 0.5 us more each.
_Row = tuple[int, str, str, bool, Any]
_number = itemgetter(0)


class _Pending(NamedTuple):
    """What the first statement of an answer reads (`_position_and_pending`)."""

    position: FeedPosition
    types: set[str]  # the names of the types with entities numbered above the cursor
    tombstones: bool  # whether tombstones are numbered above it


def changes_since(user: User, cursor: int, limit: int) -> dict[str, Any]:
    """`{"cursor", "has_more", "changes"}` after `cursor`, at most `limit` changes (see the module doc).

    A full sync (cursor 0) has no tombstones. Its first page also holds every live entity numbered up to
    the prune watermark whatever `limit` says: a continuation cursor below the watermark would be 410, and
    the client would start its full sync again forever.
    """
    connection = connections[router.db_for_read(SyncState)]
    user_key = SyncState._meta.pk.get_db_prep_value(user.pk, connection)
    position, pending_types, pending_tombstones = _position_and_pending(connection, user_key, cursor)
    check_cursor(cursor, position)
    full = cursor == 0
    floor = position.pruned_through if full else cursor
    head = position.head

    rows: list[_Row] = []
    for sync_type in registry.all_types():
        if sync_type.name in pending_types:
            read = _column_rows if sync_type.feed_columns is not None else _instance_rows
            rows.extend(read(connection, sync_type, user, user_key, cursor, floor, head, limit))
    if not full and pending_tombstones:
        rows.extend(_tombstone_rows(connection, user_key, cursor, head, limit))

    rows.sort(key=_number)
    if floor > cursor:
        below = [row for row in rows if row[0] <= floor]
        beyond = [row for row in rows if row[0] > floor]
    else:
        below, beyond = [], rows
    has_more = len(beyond) > limit
    page = below + beyond[:limit]
    next_cursor = page[-1][0] if has_more else head
    return {"cursor": next_cursor, "has_more": has_more, "changes": _render(connection, page)}


def _position_and_pending(connection: BaseDatabaseWrapper, user_key: Any, cursor: int) -> _Pending:
    """The position and what is numbered above `cursor`, in one query."""
    types = registry.all_types()
    sql = _position_sql(connection, incremental=bool(cursor))
    checks = len(types) + (1 if cursor else 0)
    with connection.cursor() as db:
        db.execute(sql, [*([user_key, cursor] * checks), user_key])
        row = db.fetchone()
    if row is None:
        return _Pending(FeedPosition(0, 0), set(), False)
    firsts = row[2:]
    names = {sync_type.name for sync_type, first in zip(types, firsts, strict=False) if first is not None}
    return _Pending(FeedPosition(row[0], row[1]), names, bool(cursor) and firsts[-1] is not None)


def _column_rows(
    connection: BaseDatabaseWrapper,
    sync_type: registry.SyncType,
    user: User,
    user_key: Any,
    cursor: int,
    floor: int,
    head: int,
    limit: int,
) -> list[_Row]:
    select = _select_of(connection, sync_type)
    in_range = f"{select.user} = %s AND {select.number} > %s AND {select.number} <= %s"
    if floor > cursor:
        # Everything up to the watermark, and the first `limit + 1` beyond it (see changes_since).
        sql = (
            f"{select.sql} WHERE {in_range} AND ({select.number} <= %s OR {select.pk} IN"
            f" (SELECT {select.pk} FROM {select.table} WHERE {in_range} ORDER BY {select.number} LIMIT %s))"
            f" ORDER BY {select.number}"
        )
        params = [user_key, cursor, head, floor, user_key, floor, head, limit + 1]
    else:
        sql = f"{select.sql} WHERE {in_range} ORDER BY {select.number} LIMIT %s"
        params = [user_key, cursor, head, limit + 1]
    with connection.cursor() as db:
        db.execute(sql, params)
        values = db.fetchall()
    if select.converters:
        values = [_converted(row, select.converters, connection) for row in values]
    name = sync_type.name
    return [(row[-2], name, row[-3], False, row) for row in values]


def _converted(
    row: tuple[Any, ...], converters: list[Any], connection: BaseDatabaseWrapper
) -> tuple[Any, ...]:
    values = list(row)
    for index, (functions, expression) in converters:
        for function in functions:
            values[index] = function(values[index], expression, connection)
    return tuple(values)


def _instance_rows(
    connection: BaseDatabaseWrapper,
    sync_type: registry.SyncType,
    user: User,
    user_key: Any,
    cursor: int,
    floor: int,
    head: int,
    limit: int,
) -> list[_Row]:
    """A type without `feed_columns` (the profile, one row a user): model instances for its `to_data`."""
    in_range: QuerySet[Any] = sync_type.model.objects.filter(
        user_id=user.pk, change_number__gt=cursor, change_number__lte=head
    )
    if sync_type.feed_queryset is not None:
        in_range = sync_type.feed_queryset(in_range)
    above_floor = in_range.filter(change_number__gt=floor).order_by("change_number")
    if floor > cursor:
        first_beyond = above_floor.values("pk")[: limit + 1]
        query = in_range.filter(Q(change_number__lte=floor) | Q(pk__in=first_beyond)).order_by(
            "change_number"
        )
    else:
        query = above_floor[: limit + 1]
    return [(e.change_number, sync_type.name, str(e.pk), False, e) for e in query]


def _tombstone_rows(
    connection: BaseDatabaseWrapper, user_key: Any, cursor: int, head: int, limit: int
) -> list[_Row]:
    """The tombstones above `cursor`, read with the prune watermark in one snapshot: a prune that committed
    after the position was read may have removed tombstones this answer needs, and then it is a 410."""
    with connection.cursor() as db:
        db.execute(_tombstones_sql(connection), [user_key, cursor, head, limit + 1, user_key])
        values = db.fetchall()
    if values and values[0][0] > cursor:
        raise CursorExpired()
    return [
        (number, type_name, entity_id, True, None)
        for _, number, type_name, entity_id in values
        if number is not None
    ]


def _render(connection: BaseDatabaseWrapper, page: list[_Row]) -> list[dict[str, Any]]:
    """One entry per entity, its latest in the page (a tombstone then a re-create with the same id: the
    re-create), in change order."""
    latest: dict[tuple[str, str], _Row] = {}
    for row in page:
        latest[(row[1], row[2])] = row
    rows = page if len(latest) == len(page) else sorted(latest.values(), key=_number)
    changes: list[dict[str, Any]] = []
    append = changes.append
    types: dict[str, registry.SyncType] = {}
    to_complete: dict[str, dict[str, dict[str, Any]]] = {}
    completes: dict[str, Callable[[dict[str, dict[str, Any]]], None]] = {}
    for _, type_name, entity_id, deleted, value in rows:
        if deleted:
            append({"type": type_name, "id": entity_id, "deleted": True})
            continue
        sync_type = types.get(type_name) or types.setdefault(type_name, registry.require(type_name))
        columns = sync_type.feed_columns
        if columns is None:
            version, data = value.version, sync_type.to_data(value)
        else:
            # The data columns, then the id, the number and the version (_select_of).
            version, data = value[-1], dict(zip(columns.fields, value, strict=False))
            if columns.complete is not None:
                to_complete.setdefault(type_name, {})[entity_id] = data
                completes[type_name] = columns.complete
        append({"type": type_name, "id": entity_id, "deleted": False, "version": version, "data": data})
    for type_name, datas in to_complete.items():
        completes[type_name](datas)
    return changes


# --- statements, written once per connection from the models' metadata ------------------------------------


@dataclass(frozen=True)
class _Select:
    """A type's feed read, `SELECT <data columns>, <id as text>, change_number, version FROM <table>`,
    the converters Django applies to its columns on this backend (SQLite's booleans) by column index, and
    the quoted names the WHERE clause needs."""

    sql: str
    converters: list[tuple[int, tuple[list[Callable[..., Any]], Any]]]
    table: str
    pk: str
    user: str
    number: str


_statements: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _cached(connection: BaseDatabaseWrapper, key: Any, build: Callable[[], Any]) -> Any:
    cache = _statements.setdefault(connection, {})
    if key not in cache:
        cache[key] = build()
    return cache[key]


def _table(connection: BaseDatabaseWrapper, model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(connection: BaseDatabaseWrapper, model: type[Model], field: str) -> str:
    found = model._meta.get_field(field)
    assert isinstance(found, Field)
    assert found.column is not None
    column = found.column
    return f"{_table(connection, model)}.{connection.ops.quote_name(column)}"


def _select_of(connection: BaseDatabaseWrapper, sync_type: registry.SyncType) -> _Select:
    def build() -> _Select:
        assert sync_type.feed_columns is not None
        model = sync_type.model
        # The data first, so a row zips with the data's keys as it is; then what the change itself shows.
        columns = [*sync_type.feed_columns.fields.values(), UUIDText("pk"), "change_number", "version"]
        expressions = [F(c) if isinstance(c, str) else c for c in columns]
        aliases = [f"c{index}" for index in range(len(expressions))]
        query = (
            model._base_manager.annotate(**dict(zip(aliases, expressions, strict=True)))
            .values_list(*aliases)
            .order_by()
            .query
        )
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        selected = [alias for _, _, alias in compiler.select]
        if params or selected != aliases:
            raise AssertionError(f"unexpected feed statement for {sync_type.name}: {sql} {params}")
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        return _Select(
            sql=sql,
            converters=sorted(converters.items()),
            table=_table(connection, model),
            pk=_column(connection, model, model._meta.pk.name),
            user=_column(connection, model, "user"),
            number=_column(connection, model, "change_number"),
        )

    return _cached(connection, ("select", sync_type.name, id(sync_type)), build)


def _position_sql(connection: BaseDatabaseWrapper, incremental: bool) -> str:
    """The sync state and, per registered type (and then the tombstones when `incremental`), the first
    number above the cursor, NULL when there is none. Parameters: user and cursor per type, then the user.

    `min()` rather than EXISTS: PostgreSQL reads a min() from the (user, number) index, while it plans an
    EXISTS that expects many matches (a small cursor) as a sequential scan that stops at the first match,
    and the user's rows can be anywhere in the table (16 ms on the seed_load data, instead of 0.05 ms)."""

    def build() -> str:
        pending = [
            f"(SELECT min({_column(connection, t.model, 'change_number')}) FROM {_table(connection, t.model)}"
            f" WHERE {_column(connection, t.model, 'user')} = %s"
            f" AND {_column(connection, t.model, 'change_number')} > %s)"
            for t in registry.all_types()
        ]
        if incremental:
            number = _column(connection, ChangeRecord, "number")
            pending.append(
                f"(SELECT min({number}) FROM {_table(connection, ChangeRecord)}"
                f" WHERE {_column(connection, ChangeRecord, 'user')} = %s"
                f" AND {_column(connection, ChangeRecord, 'deleted')} AND {number} > %s)"
            )
        return (
            f"SELECT {_column(connection, SyncState, 'last_change_number')},"
            f" {_column(connection, SyncState, 'pruned_through')}, {', '.join(pending)}"
            f" FROM {_table(connection, SyncState)} WHERE {_column(connection, SyncState, 'user')} = %s"
        )

    key = ("position", incremental, tuple(t.name for t in registry.all_types()))
    return _cached(connection, key, build)


def _tombstones_sql(connection: BaseDatabaseWrapper) -> str:
    """The prune watermark, then one row per tombstone in (cursor, head], the first `limit` of them by
    number (none: one row of NULLs). Parameters: user, cursor, head, limit, user."""

    def build() -> str:
        number = _column(connection, ChangeRecord, "number")
        entity_id = uuid_text_sql(connection, _column(connection, ChangeRecord, "entity_id"))
        tombstones = (
            f"SELECT {number} AS number, {_column(connection, ChangeRecord, 'entity_type')} AS entity_type,"
            f" {entity_id} AS entity_id FROM {_table(connection, ChangeRecord)}"
            f" WHERE {_column(connection, ChangeRecord, 'user')} = %s"
            f" AND {_column(connection, ChangeRecord, 'deleted')} AND {number} > %s AND {number} <= %s"
            f" ORDER BY {number} LIMIT %s"
        )
        return (
            f"SELECT {_column(connection, SyncState, 'pruned_through')}, t.number, t.entity_type, t.entity_id"
            f" FROM {_table(connection, SyncState)} LEFT JOIN ({tombstones}) t ON 1 = 1"
            f" WHERE {_column(connection, SyncState, 'user')} = %s ORDER BY t.number"
        )

    return _cached(connection, ("tombstones",), build)
