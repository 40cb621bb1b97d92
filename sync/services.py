"""The versioned write path every service uses (DESIGN, "The sync model").

A write opens `change_writer(user)`: one transaction that locks the user's sync-state row, so the user's
writes are serialised; each saved or deleted entity takes the next change number, is stamped with it and
gets a change record naming the fields it set. `check_base` is the merge-or-conflict decision of API.md
section 4, taken under that lock so two writers from the same base cannot both win on a field.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Subquery, Value
from django.db.models.functions import Coalesce

from core.models import OwnedModel
from core.problems import IdConflict, PreconditionFailed, VersionConflict
from core.versioning import BaseVersion
from sync import registry
from sync.models import ChangeRecord, SyncState


def lock_sync_state(user: Any) -> SyncState:
    """The user's sync-state row, locked until the surrounding transaction ends."""
    state = SyncState.objects.select_for_update().filter(user_id=user.pk).first()
    if state is None:
        SyncState.objects.get_or_create(user_id=user.pk)
        state = SyncState.objects.select_for_update().get(user_id=user.pk)
    return state


class ChangeWriter:
    """Takes change numbers for one transaction and records each change."""

    def __init__(self, user: Any, state: SyncState) -> None:
        self.user = user
        self.state = state
        self._records: list[ChangeRecord] = []
        self.inserted: list[OwnedModel] = []

    def _take_number(self) -> int:
        self.state.last_change_number += 1
        return self.state.last_change_number

    def save(self, entity: OwnedModel, fields: Iterable[str], *, created: bool = False) -> None:
        """Saves `entity` as a new version (1 when created), stamped and recorded with `fields`."""
        number = self._take_number()
        entity.change_number = number
        if created:
            entity.version = 1
            entity.user = self.user
            self.inserted.append(entity)
            entity.save(force_insert=True)
        else:
            entity.version += 1
            entity.save()
        self._record(number, entity.sync_type, entity.pk, entity.version, sorted(set(fields)), deleted=False)

    def delete(self, entity: OwnedModel) -> None:
        self.record_deletions(entity.sync_type, [(entity.pk, entity.version)])
        entity.delete()

    def record_deletions(self, sync_type: str, entities: Iterable[tuple[UUID, int]]) -> None:
        """Tombstones for entities the caller deletes itself (for example by a cascade).

        Deletion hooks of `sync_type` (see `sync.registry.on_delete`) run first, so entities that refer to
        these are changed and recorded in the same transaction.
        """
        entities = list(entities)
        if entities:
            for hook in registry.deletion_hooks(sync_type):
                hook(self, [entity_id for entity_id, _ in entities])
        for entity_id, version in entities:
            self._record(self._take_number(), sync_type, entity_id, version, [], deleted=True)

    def _record(
        self, number: int, sync_type: str, entity_id: UUID, version: int, fields: list[str], *, deleted: bool
    ) -> None:
        self._records.append(
            ChangeRecord(
                user_id=self.user.pk,
                number=number,
                entity_type=sync_type,
                entity_id=entity_id,
                version=version,
                fields=fields,
                deleted=deleted,
            )
        )

    def flush(self) -> None:
        if not self._records:
            return
        ChangeRecord.objects.bulk_create(self._records)
        SyncState.objects.filter(pk=self.state.pk).update(last_change_number=self.state.last_change_number)
        self._records = []


@contextmanager
def change_writer(user: Any) -> Iterator[ChangeWriter]:
    """One atomic write for `user`, holding the user's sync lock from the first statement to commit."""
    writer: ChangeWriter | None = None
    try:
        with transaction.atomic():
            writer = ChangeWriter(user, lock_sync_state(user))
            yield writer
            writer.flush()
    except IntegrityError:
        # Callers check client-chosen ids under the owner's lock, which does not serialise two different
        # users: when another user's concurrent create took the id first, the answer is id_conflict.
        if writer is not None and not transaction.get_connection().in_atomic_block:
            for entity in writer.inserted:
                if type(entity).objects.filter(pk=entity.pk).exclude(user_id=user.pk).exists():
                    raise IdConflict() from None
        raise


def fields_changed_since(entity: OwnedModel, version: int) -> set[str] | None:
    """Names of the fields written after `version`; None when that history was pruned (unknown).

    Ids are chosen by clients: the same id may name an entity of another type, or one that was deleted
    and created again. Only this type's records after the id's last deletion are this entity's history.
    """
    history = ChangeRecord.objects.filter(
        user_id=entity.user_id, entity_type=entity.sync_type, entity_id=entity.pk
    )
    last_deletion = history.filter(deleted=True).order_by("-number").values("number")[:1]
    rows = list(
        history.filter(
            number__gt=Coalesce(Subquery(last_deletion), Value(0)), version__gt=version, deleted=False
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
