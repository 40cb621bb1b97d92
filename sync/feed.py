"""The change feed of docs/api/sync.md: what changed, for one user, after a cursor.

A user reads several spaces (their personal one and each workspace's), each numbering its own changes; the
cursor holds a position per space (`sync.cursors`). The first statement of an answer reads, in one
snapshot, the spaces the user sees now (their memberships), each space's committed head H and prune
watermark, and which types have anything numbered above the cursor's position there. A space's writes are
serialised by its counter's lock and the counter commits with them, so every change of the space numbered
up to H is visible, and one that commits later is numbered above H: a client that always continues from
the returned cursor never misses a change.

Then, per type with something pending, one statement reads the live entities of every such space (each
once, in its latest state, JSON-ready from the database: SyncType's `feed_columns`, sync.columns), and one
statement reads the tombstones and the records of entities that moved out of the spaces read
incrementally. A move's record, or a deletion, is a tombstone only for a user who sees neither the space the
entity went to nor one it is live in now: one who does gets the entity from there (pages go space by space,
so possibly on an earlier page). A space in the cursor that the user no longer sees is one
workspace tombstone (a 410 once pruning removed that space); a space the user sees that the cursor does
not hold is sent whole (no tombstones).
The number of statements does not depend on how many spaces the user sees.

A page holds at most `limit` changes, taken space by space (by space id) in change order. A space read
whole whose watermark is above 0 has every live entity up to the watermark in the page that first reads it,
whatever `limit` says: a position below the watermark would be 410, and the client would start again.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple
from uuid import UUID

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Field, Model, Q, QuerySet
from psycopg import IsolationLevel

from core.models import User
from core.pagination import parse_limit
from core.problems import CursorExpired, validation_error
from sync import registry
from sync.columns import UUIDText, uuid_text_sql
from sync.cursors import Cursor, encode_cursor, parse_cursor
from sync.models import ChangeRecord, Space

__all__ = ["Cursor", "changes_since", "check_cursor", "parse_cursor", "parse_feed_limit"]

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


def parse_feed_limit(raw: str | None) -> int:
    return parse_limit(raw, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)


@dataclass
class _SpaceState:
    """One space the user sees, as the first statement found it, and where this answer reads it from."""

    id: int
    head: int
    pruned_through: int
    position: int  # the cursor's position; 0: sent whole
    pending: set[str] = field(default_factory=set)  # types with entities numbered above the position
    departures: bool = False  # tombstones or moves out numbered above the position

    @property
    def whole(self) -> bool:
        return self.position == 0

    @property
    def floor(self) -> int:
        """Everything up to here goes into the first page that reads the space (see the module doc)."""
        return self.pruned_through if self.whole else self.position


class _Snapshot(NamedTuple):
    spaces: dict[int, _SpaceState]
    gone: list[UUID]  # the workspaces of spaces the cursor holds that the user no longer sees
    partial: frozenset[int]  # spaces the cursor's last page stopped inside (sync.cursors)


def check_cursor(user: User, cursor: Cursor) -> None:
    """A cursor that is not this user's or is from the future is a 400, one older than what was pruned a
    410 (do a full sync). POST sync checks it before it runs anything."""
    _snapshot(user, cursor, with_pending=False)


def _snapshot(user: User, cursor: Cursor, *, with_pending: bool = True) -> _Snapshot:
    connection = connections[router.db_for_read(Space)]
    positions, partial = cursor.spaces_for(user)
    types = registry.all_types() if with_pending else []
    sql, params = _snapshot_sql(connection, user, positions, types, with_pending)
    with connection.cursor() as db:
        db.execute(sql, params)
        rows = db.fetchall()
    spaces: dict[int, _SpaceState] = {}
    for row in rows:
        space_id, head, pruned, position = (int(value) for value in row[:4])
        state = _SpaceState(space_id, head, pruned, position)
        firsts = row[4:]
        state.pending = {t.name for t, first in zip(types, firsts, strict=False) if first is not None}
        state.departures = bool(with_pending and position and firsts[-1] is not None)
        spaces[space_id] = state
    for space_id, position in positions.items():
        state_or_none = spaces.get(space_id)
        if state_or_none is None:
            continue
        if position > state_or_none.head:
            raise validation_error({"cursor": ["This cursor was never issued."]})
        if 0 < position < state_or_none.pruned_through:
            raise CursorExpired()
    gone = sorted(space_id for space_id in positions if space_id not in spaces)
    return _Snapshot(spaces, _gone_workspaces(gone, partial), partial)


def _gone_workspaces(gone: list[int], partial: frozenset[int]) -> list[UUID]:
    """The workspaces whose tombstones the cursor's unseen spaces call for.

    The client drops what it holds of such a workspace by the workspace its members and lists name, and
    items by their list. Where its last page stopped inside the space, it may hold items whose list comes
    later (the list changed after them): it cannot tell they were the workspace's, so the cursor is
    expired (410: a full sync drops them). So is one holding a space whose row is gone: a deleted
    workspace's space removed by pruning past the retention window, which cannot be named any more."""
    if not gone:
        return []
    if partial.intersection(gone):
        raise CursorExpired()
    found = dict(Space.objects.filter(pk__in=gone).values_list("pk", "workspace_id"))
    if len(found) < len(gone):
        raise CursorExpired()
    return [workspace_id for _, workspace_id in sorted(found.items()) if workspace_id is not None]


def changes_since(user: User, cursor: Cursor, limit: int) -> dict[str, Any]:
    """`{"cursor", "has_more", "changes"}` after `cursor`, at most `limit` changes (see the module doc)."""
    connection = connections[router.db_for_read(Space)]
    with _one_snapshot(connection):
        return _changes_since(connection, user, cursor, limit)


@contextmanager
def _one_snapshot(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """On PostgreSQL the answer's statements read one snapshot (REPEATABLE READ, read only): an entity
    read is never newer than the heads of the first statement, so a list that changes while the answer is
    read is not missing beside its items. Inside a caller's transaction (tests) it reads that one."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    previous = raw.isolation_level
    raw.isolation_level = IsolationLevel.REPEATABLE_READ
    try:
        with transaction.atomic(using=connection.alias):
            yield
    finally:
        if not raw.closed:
            raw.isolation_level = previous


def _changes_since(connection: BaseDatabaseWrapper, user: User, cursor: Cursor, limit: int) -> dict[str, Any]:
    snapshot = _snapshot(user, cursor)
    spaces = snapshot.spaces
    rows: list[_Row] = []
    for sync_type in registry.all_types():
        reading = [state for state in spaces.values() if sync_type.name in state.pending]
        if reading:
            read = _column_rows if sync_type.feed_columns is not None else _instance_rows
            rows.extend(read(connection, sync_type, reading, limit))
    incremental = [state for state in spaces.values() if state.departures]
    if incremental:
        rows.extend(_departure_rows(connection, incremental, set(spaces), limit))

    rows.sort(key=_order)
    floors = {space_id: state.floor for space_id, state in spaces.items()}
    below: list[_Row] = []
    beyond: list[_Row] = []
    for row in rows:
        (below if row[1] <= floors[row[0]] else beyond).append(row)
    has_more = len(beyond) > limit
    # Each of the two is in order; together they may not be.
    page = sorted(below + beyond[:limit], key=_order) if below else beyond[:limit]
    if incremental:
        # Departures that are no tombstone for this user count for where the page stops, then go.
        page = [row for row in page if row[5] is not _NOT_FOR_THIS_USER]

    positions = {space_id: state.head for space_id, state in spaces.items()}
    # Spaces this page stops inside: an item may have come without its list (see _gone_workspaces).
    partial: set[int] = set()
    if has_more:
        last_space, last_number = _order(beyond[limit - 1]) if limit else (0, 0)
        for space_id, state in spaces.items():
            if space_id == last_space:
                positions[space_id] = last_number
                if last_number < state.head:
                    partial.add(space_id)
            elif space_id > last_space:
                # Not reached by this page: where it was, or past what the page read below its watermark.
                positions[space_id] = max(state.position, state.floor)
                stopped_inside = state.position < state.floor < state.head  # read up to its watermark
                if stopped_inside or (state.floor == state.position and space_id in snapshot.partial):
                    partial.add(space_id)
    changes = _workspace_tombstones(snapshot.gone) + _render(connection, page)
    return {
        "cursor": encode_cursor(user, positions, frozenset(partial)),
        "has_more": has_more,
        "changes": changes,
    }


# A row of the feed before paging: (space id, change number, type name, entity id, deleted, what `_render`
# needs: the row's JSON-ready values, or the model instance for a type without `feed_columns`, or None).
# A plain tuple, not a NamedTuple: a full sync makes one per entity.
_Row = tuple[int, int, str, str, bool, Any]


# A departure read only for paging (`_departure_rows`): the departures are read `limit + 1` at a time, so
# dropping some before the page is cut could let the cut pass departures that were never read.
_NOT_FOR_THIS_USER = object()


# A row's place in the feed: (space id, change number).
_order: Callable[[_Row], tuple[int, int]] = itemgetter(0, 1)


def _workspace_tombstones(gone: list[UUID]) -> list[dict[str, Any]]:
    return [{"type": "workspace", "id": str(workspace_id), "deleted": True} for workspace_id in gone]


def _bounds(reading: list[_SpaceState]) -> tuple[str, list[int]]:
    """A CTE `b(sid, lo, fl, hi)` of the spaces read: position, floor, head; and its parameters."""
    values = ", ".join(
        ["(CAST(%s AS bigint), CAST(%s AS bigint), CAST(%s AS bigint), CAST(%s AS bigint))"] * len(reading)
    )
    params: list[int] = []
    for state in reading:
        params += [state.id, state.position, state.floor, state.head]
    return f"WITH b(sid, lo, fl, hi) AS (VALUES {values})", params


def _column_rows(
    connection: BaseDatabaseWrapper, sync_type: registry.SyncType, reading: list[_SpaceState], limit: int
) -> list[_Row]:
    """One statement for every space read: per space, its first `limit + 1` rows above its floor straight
    from the (space, number) index, and for a space read whole everything up to its watermark; of the
    former, the first `limit + 1` by space and number."""
    select = _select_of(connection, sync_type)
    base = select.sql.replace(f" FROM {select.table}", f", {select.space} AS sp FROM {select.table}", 1)
    in_space = f"{select.space} = %s AND {select.number} > %s AND {select.number} <= %s"
    beyond: list[str] = []
    below: list[str] = []
    params: list[Any] = []
    below_params: list[Any] = []
    for state in reading:
        beyond.append(f"SELECT * FROM ({base} WHERE {in_space} ORDER BY {select.number} LIMIT %s) s")
        params += [state.id, state.floor, state.head, limit + 1]
        if state.floor > state.position:
            below.append(f"SELECT * FROM ({base} WHERE {in_space}) w")
            below_params += [state.id, state.position, state.floor]
    sql = f"SELECT * FROM ({' UNION ALL '.join(beyond)}) u ORDER BY sp, {select.number_alias} LIMIT %s"
    params.append(limit + 1)
    if below:
        sql = f"SELECT * FROM ({sql}) f UNION ALL {' UNION ALL '.join(below)}"
        params += below_params
    with connection.cursor() as db:
        db.execute(sql, params)
        values = db.fetchall()
    if select.converters:
        values = _converted(values, select.converters, connection)
    name = sync_type.name
    # The data columns, then the id, the number, the version and the space (_select_of, `base`); the row
    # as it came is what `_render` reads.
    return [(row[-1], row[-3], name, row[-4], False, row) for row in values]


def _converted(
    rows: list[tuple[Any, ...]], converters: list[Any], connection: BaseDatabaseWrapper
) -> list[tuple[Any, ...]]:
    """The rows with Django's converters applied (SQLite's booleans, a JSON column's text). A row is
    rebuilt only where a converted column is not NULL: Django's converters give NULL back as it is, and
    most rows have NULL there (an item's recurrence), so a page does not copy every row to convert none
    of its values."""
    indexes = [index for index, _ in converters]
    pick = itemgetter(*indexes)
    nulls = None if len(indexes) == 1 else (None,) * len(indexes)
    converted: list[tuple[Any, ...]] = []
    append = converted.append
    for row in rows:
        if pick(row) == nulls:
            append(row)
            continue
        values = list(row)
        for index, (functions, expression) in converters:
            if values[index] is not None:
                for function in functions:
                    values[index] = function(values[index], expression, connection)
        append(tuple(values))
    return converted


def _instance_rows(
    connection: BaseDatabaseWrapper, sync_type: registry.SyncType, reading: list[_SpaceState], limit: int
) -> list[_Row]:
    """A type without `feed_columns` (the profile, a workspace's members): model instances for its
    `to_data`. As `_column_rows`: the first `limit + 1` above the floors by space and number, and for a
    space read whole everything up to its watermark (a second statement, only when there is one)."""
    beyond, below = Q(), Q()
    for state in reading:
        beyond |= Q(space_id=state.id, change_number__gt=state.floor, change_number__lte=state.head)
        if state.floor > state.position:
            below |= Q(space_id=state.id, change_number__gt=state.position, change_number__lte=state.floor)
    query: QuerySet[Any] = sync_type.model.objects.all()
    if sync_type.feed_queryset is not None:
        query = sync_type.feed_queryset(query)
    entities = list(query.filter(beyond).order_by("space_id", "change_number")[: limit + 1])
    if below:
        entities += list(query.filter(below))
    return [(e.space_id, e.change_number, sync_type.name, str(e.pk), False, e) for e in entities]


def _departure_rows(
    connection: BaseDatabaseWrapper, reading: list[_SpaceState], visible: set[int], limit: int
) -> list[_Row]:
    """The tombstones and moves out above each space's position, read with the prune watermarks in one
    snapshot: a prune that committed after the first statement may have removed records this answer
    needs, and then it is a 410.

    A departure is no tombstone for a user who sees where the entity is now: the space it moved to, or
    wherever it went after (through spaces they do not see), or where its id was made again. Any other
    is one, even when they see the space it moved to: it may have been deleted there before they joined
    that space, which is then sent whole, with no tombstones. Pages go
    space by space, so that entity may have reached them already from a space read before this one;
    a tombstone now would drop it for good. It comes (or came) from the space it is in."""
    bounds, params = _bounds(reading)
    seen = sorted(visible)
    seen_values = ", ".join(["(CAST(%s AS bigint))"] * len(seen))
    sql = f"{bounds}, vis(sid) AS (VALUES {seen_values}) {_departures_sql(connection)}"
    with connection.cursor() as db:
        db.execute(sql, [*params, *seen, limit + 1])
        values = db.fetchall()
    positions = {state.id: state.position for state in reading}
    rows: list[_Row] = []
    for space_id, number, type_name, entity_id, _target, pruned, live_in_view in values:
        if number is None:
            if pruned > positions[space_id]:
                raise CursorExpired()
            continue
        # Whether the space it moved to is visible does not decide: the entity may have been deleted
        # there, and when that space is sent whole (the user joined it again) no tombstone comes from it.
        rows.append(
            (space_id, number, type_name, entity_id, True, _NOT_FOR_THIS_USER if live_in_view else None)
        )
    return rows


def _render(connection: BaseDatabaseWrapper, page: list[_Row]) -> list[dict[str, Any]]:
    """One entry per entity, its latest in the page (a tombstone then a re-create with the same id: the
    re-create), in change order."""
    rows = page
    # Only a tombstone can share an id with another row: a live entity is read once, from the one space it
    # is in. A page without tombstones (every page of a full sync) has nothing to drop.
    if any(row[4] for row in page):
        latest: dict[tuple[str, str], _Row] = {}
        for row in page:
            key = (row[2], row[3])
            # The live entity wins: it was read as it is now, and a tombstone of the same id is older (the
            # id was deleted and made again, or the entity moved out of one space into another the user
            # sees).
            if key not in latest or not row[4]:
                latest[key] = row
        if len(latest) < len(page):
            rows = sorted(latest.values(), key=_order)
    changes: list[dict[str, Any]] = []
    append = changes.append
    # Per type: the type, its data's keys (None: it renders model instances), its `complete`.
    kinds: dict[str, tuple[registry.SyncType, tuple[str, ...] | None, Any]] = {}
    to_complete: dict[str, dict[str, dict[str, Any]]] = {}
    for _, _, type_name, entity_id, deleted, value in rows:
        if deleted:
            append({"type": type_name, "id": entity_id, "deleted": True})
            continue
        kind = kinds.get(type_name)
        if kind is None:
            sync_type = registry.require(type_name)
            columns = sync_type.feed_columns
            if columns is None:
                kind = kinds[type_name] = (sync_type, None, None)
            else:
                kind = kinds[type_name] = (sync_type, tuple(columns.fields), columns.complete)
        sync_type, keys, complete = kind
        if keys is None:
            version, data = value.version, sync_type.to_data(value)
        else:
            # The data columns, then the id, the number, the version and the space (`_column_rows`): zip
            # stops at the keys. Not `strict=False`: a keyword argument makes each call a fifth slower.
            version, data = value[-2], dict(zip(keys, value))  # noqa: B905
            if complete is not None:
                to_complete.setdefault(type_name, {})[entity_id] = data
        append({"type": type_name, "id": entity_id, "deleted": False, "version": version, "data": data})
    for type_name, datas in to_complete.items():
        kinds[type_name][2](datas)
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
    space: str
    number: str
    number_alias: str


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
            space=_column(connection, model, "space"),
            number_alias=connection.ops.quote_name(aliases[-2]),
            number=_column(connection, model, "change_number"),
        )

    return _cached(connection, ("select", sync_type.name, id(sync_type)), build)


def _snapshot_sql(
    connection: BaseDatabaseWrapper,
    user: User,
    positions: dict[int, int],
    types: list[registry.SyncType],
    with_pending: bool,
) -> tuple[str, list[Any]]:
    """One statement: per space the user sees (personal, and by membership), its id, head, watermark, the
    cursor's position there, and then, with `with_pending`, per type the first number above the position
    (NULL: none) and the first tombstone or move out above it.

    `min()` rather than EXISTS: PostgreSQL reads a min() from the (space, number) index, while it plans an
    EXISTS that expects many matches (a small position) as a scan that stops at the first match.

    The positions are rows of VALUES (a first (0, 0) keeps them non-empty), the text written once per
    connection and number of positions. Not prepared: a cached plan does not follow the tables as they grow
    (docs/performance.md, "The feed's first statement, prepared: measured, then left out")."""
    user_key = Space._meta.get_field("user").get_db_prep_value(user.pk, connection)
    pairs = [(0, 0), *positions.items()]
    params: list[Any] = [value for pair in pairs for value in pair]
    membership = registry.membership_model_or_none()
    params += [user_key] * (1 if membership is None else 2)
    key = ("snapshot", len(pairs), with_pending, tuple((t.name, id(t)) for t in types), membership)
    return _cached(
        connection, key, lambda: _snapshot_text(connection, len(pairs), types, with_pending, membership)
    ), params


def _snapshot_text(
    connection: BaseDatabaseWrapper,
    rows: int,
    types: list[registry.SyncType],
    with_pending: bool,
    membership: type[Model] | None,
) -> str:
    """`_snapshot_sql`'s statement: the positions as `rows` rows of two parameters each, then the user's
    key once, or twice with memberships."""
    space = _table(connection, Space)
    positions_sql = "VALUES " + ", ".join(["(CAST(%s AS bigint), CAST(%s AS bigint))"] * rows)
    # The personal space and the memberships' as one IN (... UNION ALL ...), never `user = %s OR id IN
    # (...)`: PostgreSQL cannot read an OR of the two through indexes, and scanned every user's space (6 ms
    # and a misplanned feed at 100,000 users, docs/performance.md "Scaling").
    visible = (
        f"{_column(connection, Space, 'id')} IN (SELECT {_column(connection, Space, 'id')} FROM {space}"
        f" WHERE {_column(connection, Space, 'user')} = %s"
    )
    if membership is not None:
        visible += (
            f" UNION ALL SELECT {_column(connection, membership, 'space')}"
            f" FROM {_table(connection, membership)} WHERE {_column(connection, membership, 'user')} = %s"
        )
    visible += ")"
    pending = []
    if with_pending:
        for t in types:
            number = _column(connection, t.model, "change_number")
            pending.append(
                f"(SELECT min({number}) FROM {_table(connection, t.model)}"
                f" WHERE {_column(connection, t.model, 'space')} = v.id AND {number} > v.p)"
            )
        number = _column(connection, ChangeRecord, "number")
        pending.append(
            f"(SELECT min({number}) FROM {_table(connection, ChangeRecord)}"
            f" WHERE {_column(connection, ChangeRecord, 'space')} = v.id AND {number} > v.p"
            f" AND ({_column(connection, ChangeRecord, 'deleted')}"
            f" OR {_column(connection, ChangeRecord, 'target_space')} IS NOT NULL))"
        )
    return (
        f"WITH pos(sid, p) AS ({positions_sql}),"
        f" v AS (SELECT {_column(connection, Space, 'id')} AS id,"
        f" {_column(connection, Space, 'last_change_number')} AS head,"
        f" {_column(connection, Space, 'pruned_through')} AS pruned, COALESCE(pos.p, 0) AS p"
        f" FROM {space} LEFT JOIN pos ON pos.sid = {_column(connection, Space, 'id')} WHERE {visible})"
        f" SELECT v.id, v.head, v.pruned, v.p{''.join(', ' + p for p in pending)} FROM v ORDER BY v.id"
    )


def _departures_sql(connection: BaseDatabaseWrapper) -> str:
    """After the bounds CTE and `vis(sid)` (the spaces the user sees): per space, a row with its prune
    watermark (and NULL number); then the first `limit` tombstones and moves out in (position, head] by
    space and number, each with whether its entity is live in a space the user sees. Parameter: the
    limit."""
    types = registry.all_types()

    def build() -> str:
        number = _column(connection, ChangeRecord, "number")
        space = _column(connection, ChangeRecord, "space")
        record_id = _column(connection, ChangeRecord, "entity_id")
        entity_id = uuid_text_sql(connection, record_id)
        live = " ".join(
            f"WHEN '{_sql_name(t.name)}' THEN EXISTS(SELECT 1"
            f" FROM {_table(connection, t.model)} WHERE"
            f" {_column(connection, t.model, t.model._meta.pk.name)} = {record_id}"
            f" AND {_column(connection, t.model, 'space')} IN (SELECT sid FROM vis))"
            for t in types
        )
        departures = (
            f"SELECT {space}, {number}, {_column(connection, ChangeRecord, 'entity_type')},"
            f" {entity_id}, {_column(connection, ChangeRecord, 'target_space')}, CAST(NULL AS bigint),"
            f" CASE {_column(connection, ChangeRecord, 'entity_type')} {live} ELSE {_false(connection)} END"
            f" FROM {_table(connection, ChangeRecord)} JOIN b ON {space} = b.sid"
            f" WHERE ({_column(connection, ChangeRecord, 'deleted')}"
            f" OR {_column(connection, ChangeRecord, 'target_space')} IS NOT NULL)"
            f" AND {number} > b.lo AND {number} <= b.hi ORDER BY {space}, {number} LIMIT %s"
        )
        return (
            f"SELECT b.sid, CAST(NULL AS bigint), CAST(NULL AS varchar(32)), CAST(NULL AS text),"
            f" CAST(NULL AS bigint), {_column(connection, Space, 'pruned_through')}, {_false(connection)}"
            f" FROM b JOIN {_table(connection, Space)} ON {_column(connection, Space, 'id')} = b.sid"
            f" UNION ALL SELECT * FROM ({departures}) d"
        )

    return _cached(connection, ("departures", tuple((t.name, id(t)) for t in types)), build)


def _sql_name(name: str) -> str:
    """A type's name as an SQL literal's content: registry names are lowercase words."""
    if not name.replace("_", "").isalnum():
        raise AssertionError(f"unexpected sync type name {name!r}")
    return name


def _false(connection: BaseDatabaseWrapper) -> str:
    return "FALSE" if connection.vendor == "postgresql" else "0"
