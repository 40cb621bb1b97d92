"""One row's INSERT or UPDATE with its SQL kept per model, for the write path's many single-row saves.

`Model.save()` builds and compiles its statement anew on every call: a queryset filtered by the primary
key, an UPDATE compiler over every column, the signals, the parent and deferred-field checks. For an
item that is about 0.5 ms of CPU, against 0.3 ms for the same statement with its text kept and only its
values prepared (docs/performance.md), and a push of 50 operations saves 50 rows. `save_row` writes
exactly the statement and values that `save()` would write (each field's `pre_save` and
`get_db_prep_save`, so `auto_now`, defaults and JSON adapt as they do there), and hands the row to
`save()` itself whenever the model or the instance is one that this short way does not cover: signal
receivers for the model, deferred fields, inheritance, values that are expressions, fields with their own
placeholders, or columns the database fills in (`db_returning`, such as an automatic primary key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save


@dataclass(frozen=True)
class _Statements:
    insert: str
    update: str
    # In the INSERT's order; the UPDATE sets all but the key, then names the key.
    fields: tuple[Field[Any, Any], ...]
    key: Field[Any, Any]


_KEPT: dict[tuple[type[Model], str], _Statements | None] = {}


def _statements(model: type[Model], connection: Any) -> _Statements | None:
    """The model's statements on this kind of database, or None when `save()` must do it."""
    meta = model._meta
    if meta.parents or meta.proxy or meta.order_with_respect_to or meta.db_returning_fields:
        return None
    if len(meta.pk_fields) != 1:
        return None
    fields = tuple(f for f in meta.local_concrete_fields if not f.generated)
    if any(hasattr(f, "get_placeholder") for f in fields):
        return None
    key = meta.pk
    assert key is not None
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    settings = ", ".join(f"{quote(f.column)} = %s" for f in fields if f is not key)
    return _Statements(
        insert=f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 (our own names only)
        update=f"UPDATE {table} SET {settings} WHERE {table}.{quote(key.column)} = %s",  # noqa: S608
        fields=fields,
        key=key,
    )


def _kept(model: type[Model], connection: Any) -> _Statements | None:
    name = (model, connection.vendor)
    if name not in _KEPT:
        _KEPT[name] = _statements(model, connection)
    return _KEPT[name]


def save_row(entity: Model, *, insert: bool) -> None:
    """Inserts `entity` (`insert`) or saves it as `entity.save(force_insert=insert)` would."""
    model = type(entity)
    using = router.db_for_write(model, instance=entity)
    connection = connections[using]
    statements = _kept(model, connection)
    if (
        statements is None
        or pre_save.has_listeners(model)
        or post_save.has_listeners(model)
        or entity.get_deferred_fields()
        or getattr(entity, statements.key.attname) is None
    ):
        _save_with_orm(entity, insert=insert)
        return
    entity._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]  # as save() does
    values = [field.pre_save(entity, insert) for field in statements.fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        _save_with_orm(entity, insert=insert)
        return
    prepared = {
        field: field.get_db_prep_save(value, connection)
        for field, value in zip(statements.fields, values, strict=True)
    }
    if insert:
        sql, params = statements.insert, list(prepared.values())
    else:
        key = prepared.pop(statements.key)
        sql, params = statements.update, [*prepared.values(), key]
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        missing = not insert and cursor.rowcount == 0
    if missing:
        # No row to update: `save()` then inserts one, and so does this, through it.
        _save_with_orm(entity, insert=False)
        return
    entity._state.db = using
    entity._state.adding = False


def _save_with_orm(entity: Model, *, insert: bool) -> None:
    if insert:
        entity.save(force_insert=True)
    else:
        entity.save()
