"""Pruning what sync keeps past its retention window (docs/architecture.md, "The write path and the feed").

Change records (tombstones among them) older than SYNC_RETENTION_DAYS, processed operations older than
OPERATION_RETENTION_DAYS and idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS go, in bounded
batches, each batch its own short transaction. Before change records go, each affected space's
`pruned_through` is raised to the highest number removed, in the same transaction: a cursor whose position
there is below it is then answered 410 and the client does a full sync, instead of silently missing a
deletion. The spaces of deleted workspaces go once they are older than the window: a cursor that still
holds one is answered 410 (sync.feed), since the workspace it should drop cannot be named any more. A
merge that needed a pruned record reports a conflict (`fields_changed_since` answers None).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from core.models import IdempotencyKey
from sync import registry
from sync.models import ChangeRecord, ProcessedOperation, Space

DEFAULT_BATCH_SIZE = 1000


@dataclass
class PruneReport:
    change_records: int = 0
    tombstones: int = 0
    spaces: int = 0
    retired_spaces: int = 0
    processed_operations: int = 0
    idempotency_keys: int = 0


def prune(
    *,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[str], None] | None = None,
) -> PruneReport:
    now = now or timezone.now()
    report = PruneReport()
    cutoff = now - timedelta(days=settings.SYNC_RETENTION_DAYS)
    _prune_change_records(cutoff, batch_size, report, progress)
    report.retired_spaces = Space.objects.filter(retired_at__lt=cutoff).delete()[0]
    for step in registry.prune_steps():
        step(now)
    report.processed_operations = prune_older(
        ProcessedOperation, now - timedelta(days=settings.OPERATION_RETENTION_DAYS), batch_size
    )
    report.idempotency_keys = prune_older(
        IdempotencyKey, now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS), batch_size
    )
    return report


def prune_job(now: datetime) -> int:
    """The `sync.prune` periodic job (jobs.registry): one prune, how many rows went."""
    report = prune(now=now)
    return (
        report.change_records + report.retired_spaces + report.processed_operations + report.idempotency_keys
    )


def _prune_change_records(
    cutoff: datetime, batch_size: int, report: PruneReport, progress: Callable[[str], None] | None
) -> None:
    spaces: set[Any] = set()
    while True:
        with transaction.atomic():
            batch = list(
                ChangeRecord.objects.filter(created_at__lt=cutoff)
                .order_by("id")
                .values_list("id", "space_id", "number", "deleted")[:batch_size]
            )
            if not batch:
                break
            highest: dict[Any, int] = {}
            for _id, space_id, number, _deleted in batch:
                highest[space_id] = max(number, highest.get(space_id, 0))
            # Spaces in a fixed order, so two prunes running at once cannot deadlock on their rows.
            for space_id in sorted(highest):
                Space.objects.filter(pk=space_id, pruned_through__lt=highest[space_id]).update(
                    pruned_through=highest[space_id]
                )
            ChangeRecord.objects.filter(id__in=[row[0] for row in batch]).delete()
        spaces.update(highest)
        report.change_records += len(batch)
        report.tombstones += sum(1 for row in batch if row[3])
        if progress is not None:
            progress(f"  removed {len(batch)} change records")
    report.spaces = len(spaces)


def prune_older(model: type[models.Model], cutoff: datetime, batch_size: int) -> int:
    """Deletes the rows of `model` created before `cutoff`, `batch_size` at a time (each batch its own
    statement, so no long lock); returns how many went."""
    removed = 0
    while True:
        ids = list(
            model._default_manager.filter(created_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return removed
        model._default_manager.filter(pk__in=ids).delete()
        removed += len(ids)
