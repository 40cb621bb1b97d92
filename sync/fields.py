"""One description per synced entity: its model's `sync_fields`, read with the model's own fields.

A synced model names its fields once, in the API's names and order (`Item.sync_fields`); everything else
is derived here from that list and the model's field types: what the feed sends (`entity_data`, and the
same read by the database, `feed_columns`), the items page's values (`row_data`), the fields a create
records, the serializers' `Meta.fields`, the export. A name that is not a field of the model (a focus card's
`items`) is filled by the type itself (its SyncType's `FeedColumns.complete` and `to_data`).

Every entity also shows its id first and its version and timestamps last (`SERVER_FIELDS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from core.models import OwnedModel
from sync.columns import DayText, MinuteText, TimestampText, UUIDText

SERVER_FIELDS = ("version", "created_at", "updated_at")


def timestamp_text(value: datetime | None) -> str | None:
    """What core.serializers.DateTimeField answers: RFC 3339 in UTC with microseconds and `Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def day_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def minute_text(value: time | None) -> str | None:
    """A wall-clock time as the API writes it: `HH:MM`."""
    return None if value is None else value.strftime("%H:%M")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)  # a TextChoices member is its value


def _integer(value: Any) -> int | None:
    return None if value is None else int(value)


def _boolean(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _as_is(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class SyncField:
    """One field as the API shows it: its key, the model attribute holding it, the function giving its
    JSON value from that attribute, and the database expression giving the same (sync.columns)."""

    name: str
    attname: str
    to_json: Callable[[Any], Any]
    column: Any


def _describe(name: str, field: models.Field[Any, Any]) -> SyncField:
    attname = field.attname
    if isinstance(field, models.UUIDField) or field.many_to_one:
        return SyncField(name, attname, _text, UUIDText(attname))
    if isinstance(field, models.DateTimeField):  # before DateField: it is one
        return SyncField(name, attname, timestamp_text, TimestampText(attname))
    if isinstance(field, models.DateField):
        return SyncField(name, attname, day_text, DayText(attname))
    if isinstance(field, models.TimeField):
        return SyncField(name, attname, minute_text, MinuteText(attname))
    if isinstance(field, models.BooleanField):
        return SyncField(name, attname, _boolean, attname)
    if isinstance(field, models.IntegerField):
        return SyncField(name, attname, _integer, attname)
    if isinstance(field, models.CharField | models.TextField):
        return SyncField(name, attname, _text, attname)
    return SyncField(name, attname, _as_is, attname)


@cache
def fields_of(model: type[OwnedModel]) -> tuple[SyncField, ...]:
    """The model's synced fields that are its own columns, in the order the API shows them."""
    described = []
    for name in ("id", *model.sync_fields, *SERVER_FIELDS):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue  # filled by the type itself
        assert isinstance(field, models.Field)
        described.append(_describe(name, field))
    return tuple(described)


def api_fields(model: type[OwnedModel], *derived: str) -> list[str]:
    """A serializer's `Meta.fields`: the id, the synced fields, `derived` read-only values, the server's."""
    return ["id", *model.sync_fields, *derived, *SERVER_FIELDS]


def entity_data(entity: OwnedModel, **derived: Any) -> dict[str, Any]:
    """The entity's own fields as the API shows them; `derived` values go before the server's fields."""
    data = {name: to_json(getattr(entity, attname)) for name, attname, to_json in _readers(type(entity))}
    if derived:
        server = {name: data.pop(name) for name in SERVER_FIELDS}
        data.update(derived)
        data.update(server)
    return data


@cache
def _readers(model: type[OwnedModel]) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
    # `fields_of` as plain tuples: the items page and the feed's instances read them per entity.
    return tuple((field.name, field.attname, field.to_json) for field in fields_of(model))


def value_columns(model: type[OwnedModel]) -> tuple[str, ...]:
    """The attributes `row_data` reads, for `queryset.values(*value_columns(model))`."""
    return tuple(field.attname for field in fields_of(model))


def row_data(model: type[OwnedModel], row: dict[str, Any]) -> dict[str, Any]:
    """`entity_data` from a row of `value_columns` (a page read as values, without model instances)."""
    return row_reader(model)(row)


# The JSON value of a column `v` (not None) as an expression, for the readers `row_reader` writes; a
# function not named here is called.
_INLINE: dict[Callable[[Any], Any], str] = {
    _text: "str(v)",
    _integer: "int(v)",
    _boolean: "bool(v)",
    timestamp_text: 'v.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")',
    day_text: "v.isoformat()",
    minute_text: 'v.strftime("%H:%M")',
}


@cache
def row_reader(model: type[OwnedModel]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """`row_data` for the model as one function written out for its fields (one dict display, no call or
    loop per field): the items page shapes 50 rows of 18 fields per request with it. The same values as
    the fields' `to_json` (tests/lists/test_representation.py)."""
    namespace: dict[str, Any] = {"UTC": UTC}
    entries = []
    for n, (name, attname, to_json) in enumerate(_readers(model)):
        column = f"row[{attname!r}]"
        if to_json is _as_is:
            entries.append(f"{name!r}: {column}")
        elif to_json in _INLINE:
            entries.append(f"{name!r}: None if (v := {column}) is None else {_INLINE[to_json]}")
        else:
            namespace[f"to_json_{n}"] = to_json
            entries.append(f"{name!r}: to_json_{n}({column})")
    source = "def read(row):\n    return {\n" + "".join(f"        {e},\n" for e in entries) + "    }\n"
    exec(compile(source, f"<row_reader {model.__name__}>", "exec"), namespace)  # noqa: S102
    reader: Callable[[dict[str, Any]], dict[str, Any]] = namespace["read"]
    return reader


def feed_fields(model: type[OwnedModel]) -> dict[str, Any]:
    """`entity_data` as database expressions (sync.columns), for the feed's JSON-ready rows."""
    return {field.name: field.column for field in fields_of(model)}


def foreign_keys(model: type[OwnedModel]) -> dict[str, type[models.Model]]:
    """The synced fields that are foreign keys, with the model each names."""
    return {
        field.name: field.related_model
        for field in fields_of_model(model)
        if field.many_to_one and isinstance(field.related_model, type)
    }


def fields_of_model(model: type[OwnedModel]) -> list[models.Field[Any, Any]]:
    """The model fields among `sync_fields`."""
    found = []
    for name in model.sync_fields:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        assert isinstance(field, models.Field)
        found.append(field)
    return found


def model_values(model: type[models.Model], data: dict[str, Any]) -> dict[str, Any]:
    """API values to model attribute values: a reference (`list`, an instance or an id) becomes its id."""
    values = {}
    for name, value in data.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            values[name] = value
            continue
        assert isinstance(field, models.Field)
        values[field.attname] = value.pk if isinstance(value, models.Model) else value
    return values
