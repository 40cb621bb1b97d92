"""The worker's own upkeep: finished task results past TASK_RESULT_RETENTION_DAYS go (the admin and
/metrics read the rest). Other apps register their upkeep as jobs of their own (sync: `sync.prune`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django_tasks_db.models import DBTaskResult

BATCH = 1000


def prune_task_results(now: datetime) -> int:
    cutoff = now - timedelta(days=settings.TASK_RESULT_RETENTION_DAYS)
    removed = 0
    while True:
        ids = list(
            DBTaskResult.objects.filter(status__in=("SUCCESSFUL", "FAILED"), finished_at__lt=cutoff)
            .order_by("finished_at")
            .values_list("id", flat=True)[:BATCH]
        )
        if not ids:
            return removed
        removed += DBTaskResult.objects.filter(id__in=ids).delete()[0]
