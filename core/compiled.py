"""A first page whose SQL is compiled once per shape instead of once per request.

Building and compiling an ORM query costs more CPU than PostgreSQL takes to run it: for the items page of
one list (a filter, an EXISTS over a UNION, 18 columns, an ordering) about five times the execution and
the fetch of its 51 rows (docs/performance.md, round four). Between two requests for such a page only some
ids change: `CompiledPage` builds the query once per shape (ordering, page size, database) with stand-in
ids, keeps its SQL, where each id goes among its parameters and the columns' converters, and then runs
that SQL with the request's ids, giving the rows the ORM would give.

Its rows are dicts of named columns, each a database expression (for the items page, sync.columns' text
of uuids, timestamps and dates as the API writes them, so a page's values need no shaping in Python: the
database turns a timestamp into text faster than psycopg makes it a datetime and Python writes it out).

It stands in for the QuerySet that core.pagination.KeysetPagination pages: `model`, `order_by(...)` and
`[:n]` serve the first page from the kept SQL; after `filter(...)` (a cursor's position) the page goes
back to the ORM with the real ids and the same columns, so later pages are what they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import F, Model, OrderBy, Q, QuerySet

# Stand-in ids, one per name: distinct, and never an id of a row.
_STAND_INS = [uuid.UUID(int=(0xD4F1 << 112) + n) for n in range(1, 9)]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Per parameter: (the name of the id it takes, how the backend writes it) or (None, the constant).
    params: tuple[tuple[str | None, Any], ...]
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]


_COMPILED: dict[tuple[Any, ...], _Compiled] = {}
_FORMS: dict[str, Callable[[uuid.UUID], Any]] = {"uuid": lambda v: v, "hex": lambda v: v.hex, "str": str}


def _ordering_key(ordering: tuple[Any, ...]) -> tuple[Any, ...] | None:
    key: list[Any] = []
    for term in ordering:
        if isinstance(term, str):
            key.append(term)
        elif isinstance(term, OrderBy) and isinstance(term.expression, F):
            key.append((term.expression.name, term.descending, term.nulls_first, term.nulls_last))
        else:
            return None
    return tuple(key)


class CompiledPage:
    """The rows of `build(**ids).order_by(...)[:n]` as dicts of `columns` (name: an expression, or a field's
    name), its SQL kept per shape under `name` (one name, one `build` and one set of columns). `ids` are
    UUIDs; `build` must give the same SQL for any ids, with each id as a parameter."""

    def __init__(
        self,
        name: str,
        model: type[Model],
        build: Callable[..., QuerySet[Any]],
        ids: dict[str, uuid.UUID],
        columns: dict[str, Any],
        ordering: tuple[Any, ...] = (),
        where: tuple[Q, ...] = (),
    ) -> None:
        assert len(ids) <= len(_STAND_INS)
        self.name = name
        self.model = model
        self.build = build
        self.ids = ids
        self.columns = columns
        self.ordering = ordering
        self.where = where

    def queryset(self) -> QuerySet[Any]:
        """The same rows through the ORM, as tuples of the columns in order."""
        return self._queryset(self.ids)

    def _queryset(self, ids: dict[str, uuid.UUID]) -> QuerySet[Any]:
        built = self.build(**ids).filter(*self.where)
        if self.ordering:
            built = built.order_by(*self.ordering)
        # Under aliases of their own: a column's name may be a field's (`id`, `title`).
        aliases = {f"c{n}": F(c) if isinstance(c, str) else c for n, c in enumerate(self.columns.values())}
        return built.annotate(**aliases).values_list(*aliases)

    def order_by(self, *ordering: Any) -> CompiledPage:
        return self._with(ordering=ordering)

    def filter(self, *args: Q) -> CompiledPage:
        return self._with(where=(*self.where, *args))

    def _with(self, **changed: Any) -> CompiledPage:
        fields = ("name", "model", "build", "ids", "columns", "ordering", "where")
        return CompiledPage(**{field: changed.get(field, getattr(self, field)) for field in fields})

    def __getitem__(self, key: slice) -> list[dict[str, Any]]:
        names = tuple(self.columns)
        shape = _ordering_key(self.ordering)
        plain = isinstance(key, slice) and not (key.start or key.step) and key.stop is not None
        if not plain or shape is None or self.where:
            return [dict(zip(names, row, strict=True)) for row in self.queryset()[key]]
        alias = router.db_for_read(self.model)
        cache_key = (self.name, alias, shape, key.stop)
        compiled = _COMPILED.get(cache_key)
        if compiled is None:
            compiled = _COMPILED[cache_key] = self._compile(alias, key.stop)
        params = [_FORMS[form](self.ids[slot]) if slot else form for slot, form in compiled.params]
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            converted = []
            for row in rows:
                values = list(row)
                for position, functions, expression in compiled.converters:
                    value = values[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    values[position] = value
                converted.append(values)
            rows = converted
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _compile(self, alias: str, stop: int) -> _Compiled:
        stand_ins = dict(zip(self.ids, _STAND_INS, strict=False))
        query = self._queryset(stand_ins)[:stop].query
        # The SQL's columns are the aliases, in order, and nothing else.
        assert not query.extra_select, "the columns only"
        assert not query.values_select, "the columns only"
        assert list(query.annotation_select) == [f"c{n}" for n in range(len(self.columns))], "in order"
        compiler = query.get_compiler(using=alias)
        sql, raw_params = compiler.as_sql()
        params: list[tuple[str | None, Any]] = []
        found = set()
        for param in raw_params:
            slot = None
            for name, stand_in in stand_ins.items():
                for form, write in _FORMS.items():
                    if type(param) is type(write(stand_in)) and param == write(stand_in):
                        slot = (name, form)
            if slot is None:
                params.append((None, param))
            else:
                params.append(slot)
                found.add(slot[0])
        if found != set(stand_ins):
            raise ValueError(f"{self.name}: an id is not a parameter of its SQL")
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        return _Compiled(
            sql=sql,
            params=tuple(params),
            converters=tuple(
                (position, tuple(functions), expression)
                for position, (functions, expression) in sorted(converters.items())
            ),
        )
