"""Entity types known to sync. Each domain app registers its own in `AppConfig.ready()`, so `sync` imports
no domain app (DESIGN, Layout)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from rest_framework.serializers import BaseSerializer


@dataclass(frozen=True)
class FeedColumns:
    """`to_data` read straight from the database, for the feed's hot path (sync/feed.py).

    `fields` maps each key of `to_data`'s answer, in its order, to a model field name or an expression
    whose value is already what JSON holds (sync.columns: ids, days and timestamps as the API's text).
    `complete`, when set, adds what lives in other rows (a focus card's item ids) to the page's entities of
    the type in one query; it gets `{entity id: data}`. tests/sync/test_feed_columns.py holds the result
    equal to `to_data` for every registered type.
    """

    fields: dict[str, Any]
    complete: Callable[[dict[str, dict[str, Any]]], None] | None = None


@dataclass(frozen=True)
class SyncType:
    """How sync reads and writes one entity type.

    `to_data` gives the entity's own fields for the feed (derived values left out, docs/api/sync.md);
    `serializer` validates pushed data and renders `entity`/`current`; `create`, `update` and `delete` are
    the same services the REST endpoints call, with keyword arguments `user, entity_id, data` and `base`.
    `represent`, when set, gives the full API representation where the serializer alone cannot (derived
    values the REST view annotates); otherwise the serializer renders it.
    """

    name: str
    model: type[models.Model]
    serializer: type[BaseSerializer]
    to_data: Callable[[Any], dict[str, Any]]
    create: Callable[..., tuple[Any, bool]] | None = None
    update: Callable[..., tuple[Any, bool]] | None = None
    delete: Callable[..., None] | None = None
    represent: Callable[[Any], dict[str, Any]] | None = None
    # What `to_data` reads besides the row (select_related / prefetch_related), so the feed costs a fixed
    # number of queries per type whatever the page size.
    feed_queryset: Callable[[models.QuerySet], models.QuerySet] | None = None
    # The same data as `to_data` without model instances (the feed reads these when set).
    feed_columns: FeedColumns | None = None


def write_services(
    *, id_name: str, create: Callable[..., Any], update: Callable[..., Any], delete: Callable[..., Any]
) -> dict[str, Callable[..., Any]]:
    """`create`, `update` and `delete` for a SyncType, from services that name the entity's id their own
    way (`item_id=`, `card_id=`): the registry calls them with `entity_id=`."""

    def by_id(service: Callable[..., Any]) -> Callable[..., Any]:
        def call(*, entity_id: Any, **arguments: Any) -> Any:
            return service(**arguments, **{id_name: entity_id})

        return call

    return {"create": by_id(create), "update": by_id(update), "delete": by_id(delete)}


_registry: dict[str, SyncType] = {}


def register(sync_type: SyncType) -> None:
    existing = _registry.get(sync_type.name)
    if existing is not None and existing.model is not sync_type.model:
        raise ValueError(f"sync type {sync_type.name!r} is already registered for {existing.model}")
    _registry[sync_type.name] = sync_type


def get(name: str) -> SyncType | None:
    return _registry.get(name)


def require(name: str) -> SyncType:
    """A registered type; asking for one that no app registered is a programming error."""
    sync_type = _registry.get(name)
    if sync_type is None:
        raise LookupError(f"sync type {name!r} is not registered")
    return sync_type


def all_types() -> list[SyncType]:
    return list(_registry.values())


# Callbacks run inside the write path just before entities of a type are deleted, with the writer and the
# ids. Apps whose entities point at another type (a focus card's entries, an anti-todo entry's item) use
# them to change and version their own entities through the same writer, so no row changes without a
# change record, and the deleting app need not know them.
_deletion_hooks: dict[str, list[Callable[[Any, list[Any]], None]]] = {}


def on_delete(sync_type: str, hook: Callable[[Any, list[Any]], None]) -> None:
    hooks = _deletion_hooks.setdefault(sync_type, [])
    if hook not in hooks:
        hooks.append(hook)


def deletion_hooks(sync_type: str) -> list[Callable[[Any, list[Any]], None]]:
    return list(_deletion_hooks.get(sync_type, ()))
