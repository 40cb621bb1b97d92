"""Entity types known to sync. Each domain app registers its own in `AppConfig.ready()`, so `sync` imports
no domain app (docs/architecture.md, Layout).

The registry holds what only sync needs: how the feed reads a type, how a pushed operation runs, how an
export names it. The REST views call their own app's services directly.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict
from uuid import UUID

from django.db.models import Model, QuerySet
from rest_framework.serializers import BaseSerializer

from core.models import OwnedModel
from sync.fields import entity_data, feed_fields, foreign_keys

if TYPE_CHECKING:
    from sync.services import ChangeWriter

Data = dict[str, Any]


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
    complete: Callable[[dict[str, Data]], None] | None = None

    @classmethod
    def of(
        cls, model: type[OwnedModel], complete: Callable[[dict[str, Data]], None] | None = None
    ) -> FeedColumns:
        """The columns of the model's `sync_fields` (sync.fields)."""
        return cls(feed_fields(model), complete)


@dataclass(frozen=True)
class SyncType:
    """How sync reads and writes one entity type, named by its model's `sync_type`.

    `to_data` gives the entity's own fields for the feed (derived values left out, docs/api/sync.md): by
    default its model's `sync_fields` (sync.fields). `serializer` validates pushed and imported data.
    `represent` is the entity as its REST endpoint answers it (derived values included), the one
    representation of the type, for push results and conflicts. `create`, `update` and `delete` run pushed
    operations and imports, with keyword arguments `user, entity_id, data` and `base` (`write_services`
    adapts the app's services). `export_section` names the export's list of these entities; the export
    holds the sections in the order the types were registered, which is the order their references need.
    """

    model: type[OwnedModel]
    serializer: type[BaseSerializer]
    represent: Callable[[Any], Data]
    to_data: Callable[[Any], Data] = entity_data
    create: Callable[..., tuple[Any, bool]] | None = None
    update: Callable[..., tuple[Any, bool]] | None = None
    delete: Callable[..., None] | None = None
    # What `to_data` reads besides the row (select_related / prefetch_related), so the feed costs a fixed
    # number of queries per type whatever the page size.
    feed_queryset: Callable[[QuerySet[Any]], QuerySet[Any]] | None = None
    # The same data as `to_data` without model instances (the feed reads these when set).
    feed_columns: FeedColumns | None = None
    export_section: str | None = None
    # Fields naming entities of other types that are not the model's foreign keys (a focus card's `items`):
    # API field -> type name. The foreign keys among `sync_fields` need no entry (`references`).
    other_references: dict[str, str] = field(default_factory=dict)
    # Read-only fields that an import takes from the document when it creates the entity (a reminder's
    # `fired_at`: restored from an export, a reminder that fired must not fire again). The create service
    # finds them in its data; pushes and REST never send them (the serializer drops read-only fields).
    import_server_fields: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.model.sync_type


class WriteServices(TypedDict):
    create: Callable[..., tuple[Any, bool]]
    update: Callable[..., tuple[Any, bool]]
    delete: Callable[..., None]


def write_services(
    *, id_name: str, create: Callable[..., Any], update: Callable[..., Any], delete: Callable[..., Any]
) -> WriteServices:
    """`create`, `update` and `delete` for a SyncType, from services that name the entity's id their own
    way (`item_id=`, `card_id=`): push and import call them with `entity_id=`."""

    def by_id(service: Callable[..., Any]) -> Callable[..., Any]:
        def call(*, entity_id: UUID, **arguments: Any) -> Any:
            return service(**arguments, **{id_name: entity_id})

        return call

    return WriteServices(create=by_id(create), update=by_id(update), delete=by_id(delete))


_registry: dict[str, SyncType] = {}


def register(sync_type: SyncType) -> None:
    if not sync_type.name:
        raise ValueError(f"{sync_type.model} names no sync_type")
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


def names() -> list[str]:
    """The registered type names, in registration order (the API's `type` values)."""
    return list(_registry)


def export_types() -> list[SyncType]:
    """The types an export holds as sections, in dependency order."""
    return [sync_type for sync_type in _registry.values() if sync_type.export_section is not None]


def references(sync_type: SyncType) -> dict[str, str]:
    """The fields of the type that name entities of other registered types: API field -> type name."""
    found = {}
    for name, target in foreign_keys(sync_type.model).items():
        if issubclass(target, OwnedModel) and target.sync_type in _registry:
            found[name] = target.sync_type
    return found | sync_type.other_references


# Callbacks run inside the write path just before entities of a type are deleted, with the writer and the
# ids. Apps whose entities point at another type (a focus card's entries, an anti-todo entry's item) use
# them to change and version their own entities through the same writer, so no row changes without a
# change record, and the deleting app need not know them.
DeletionHook = Callable[["ChangeWriter", list[UUID]], None]
_deletion_hooks: dict[str, list[DeletionHook]] = {}


def on_delete(sync_type: str, hook: DeletionHook) -> None:
    hooks = _deletion_hooks.setdefault(sync_type, [])
    if hook not in hooks:
        hooks.append(hook)


def deletion_hooks(sync_type: str) -> list[DeletionHook]:
    return list(_deletion_hooks.get(sync_type, ()))


# Callbacks that name the spaces of entities elsewhere that refer to entities of a type (the personal spaces
# of the focus cards holding some items): a deletion or a move of those entities changes them (the hooks
# above), so a write locks these spaces together with its own, in space-id order, before it reads anything
# (`holder_spaces`). Locked later, a card owner's space with a lower id than the workspace's would be taken
# after a higher one, which can deadlock with that owner's own writes.
HolderSpaces = Callable[[Collection[UUID]], Iterable[int]]
_holder_spaces: dict[str, list[HolderSpaces]] = {}


def on_holder_spaces(sync_type: str, finder: HolderSpaces) -> None:
    finders = _holder_spaces.setdefault(sync_type, [])
    if finder not in finders:
        finders.append(finder)


def has_holder_spaces(sync_type: str) -> bool:
    return bool(_holder_spaces.get(sync_type))


def holder_spaces(sync_type: str, ids: Collection[UUID]) -> set[int]:
    """The spaces the registered finders name for these entities (none when no ids)."""
    if not ids:
        return set()
    return {space for finder in _holder_spaces.get(sync_type, ()) for space in finder(ids)}


# The membership table (the workspaces app's member model: `space`, `user`, `role`), which says which
# workspace spaces a user sees (sync.spaces, the feed). Until an app registers it, users see only their
# personal space.
_membership: list[type[Model]] = []


def set_membership(model: type[Model]) -> None:
    _membership[:] = [model]


def membership_model_or_none() -> type[Model] | None:
    return _membership[0] if _membership else None


def membership_model() -> type[Model]:
    model = membership_model_or_none()
    if model is None:
        raise LookupError("no membership model is registered")
    return model


# Callbacks run inside the write transaction with the change records it wrote, the entities they name
# ({(type, id): entity, None for a deletion}) and the space rows the write holds locked ({id: Space}, every
# record's space among them): the workspaces app writes its activity from them.
ChangesHook = Callable[[list[Any], dict[tuple[str, UUID], Any], dict[int, Any]], None]
_changes_hooks: list[ChangesHook] = []


def on_changes(hook: ChangesHook) -> None:
    if hook not in _changes_hooks:
        _changes_hooks.append(hook)


def changes_hooks() -> list[ChangesHook]:
    return list(_changes_hooks)


# More upkeep for `prune_sync`, from apps whose records have a retention of their own (a workspace's
# activity): each gets the time the prune runs at.
PruneStep = Callable[[Any], Any]
_prune_steps: list[PruneStep] = []


def on_prune(step: PruneStep) -> None:
    if step not in _prune_steps:
        _prune_steps.append(step)


def prune_steps() -> list[PruneStep]:
    return list(_prune_steps)
