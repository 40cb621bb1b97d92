"""A first page whose SQL is compiled once per shape instead of once per request.

Building and compiling an ORM query costs more CPU than PostgreSQL takes to run it: for the items page of
one list (a filter, an EXISTS over a UNION, 18 columns, an ordering) about five times the execution and
the fetch of its 51 rows (docs/performance.md, round four). Between two requests for such a page only some
ids change: `CompiledPage` builds the query once per shape (ordering, page size, database) with stand-in
ids, keeps its SQL, where each id goes among its parameters and the columns' converters, and then runs
that SQL with the request's ids, giving the rows `values()` would give.

It stands in for the QuerySet that core.pagination.KeysetPagination pages: `model`, `order_by(...)` and
`[:n]` serve the first page from the kept SQL; `filter(...)` (a cursor's position) goes back to the ORM
with the real ids, so later pages are what they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import F, Model, OrderBy, QuerySet

# Stand-in ids, one per name: distinct, and never an id of a row.
_STAND_INS = [uuid.UUID(int=(0xD4F1 << 112) + n) for n in range(1, 9)]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Per parameter: (the name of the id it takes, how the backend writes it) or (None, the constant).
    params: tuple[tuple[str | None, Any], ...]
    names: tuple[str, ...]
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
    """The rows of `build(**ids).order_by(...)[:n]` (a `values()` queryset), its SQL kept per shape under
    `name`. `ids` are UUIDs; `build` must give the same SQL for any ids, with each id as a parameter."""

    def __init__(
        self,
        name: str,
        model: type[Model],
        build: Callable[..., QuerySet[Any]],
        ids: dict[str, uuid.UUID],
        ordering: tuple[Any, ...] = (),
    ) -> None:
        assert len(ids) <= len(_STAND_INS)
        self.name = name
        self.model = model
        self.build = build
        self.ids = ids
        self.ordering = ordering

    def queryset(self) -> QuerySet[Any]:
        """The same rows through the ORM."""
        built = self.build(**self.ids)
        return built.order_by(*self.ordering) if self.ordering else built

    def order_by(self, *ordering: Any) -> CompiledPage:
        return CompiledPage(self.name, self.model, self.build, self.ids, ordering)

    def filter(self, *args: Any, **kwargs: Any) -> QuerySet[Any]:
        return self.queryset().filter(*args, **kwargs)

    def __getitem__(self, key: slice) -> list[dict[str, Any]]:
        shape = _ordering_key(self.ordering)
        if not isinstance(key, slice) or key.start or key.step or key.stop is None or shape is None:
            return list(self.queryset()[key])
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
        names = compiled.names
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _compile(self, alias: str, stop: int) -> _Compiled:
        stand_ins = dict(zip(self.ids, _STAND_INS, strict=False))
        built = self.build(**stand_ins)
        queryset = (built.order_by(*self.ordering) if self.ordering else built)[:stop]
        query = queryset.query
        assert not query.extra_select, "values() of fields only"
        assert not query.annotation_select, "values() of fields only"
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
            names=tuple(query.values_select),
            converters=tuple(
                (position, tuple(functions), expression)
                for position, (functions, expression) in sorted(converters.items())
            ),
        )
