"""`manage.py prune_sync`: removes sync data past its retention window (see sync/pruning.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sync.pruning import DEFAULT_BATCH_SIZE, prune


class Command(BaseCommand):
    help = (
        "Removes change records and tombstones older than SYNC_RETENTION_DAYS, processed operations older "
        "than OPERATION_RETENTION_DAYS and idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS, in batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows deleted per transaction (default {DEFAULT_BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        verbose = options["verbosity"] > 1
        report = prune(batch_size=batch_size, progress=self.stdout.write if verbose else None)
        self.stdout.write(
            f"Removed {report.change_records} change records ({report.tombstones} tombstones) "
            f"of {report.spaces} spaces, {report.retired_spaces} spaces of deleted workspaces, "
            f"{report.processed_operations} processed operations, {report.idempotency_keys} idempotency keys."
        )
