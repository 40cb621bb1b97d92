"""The worker's share of webhooks (jobs.registry): every worker process delivers (a loop), and one prunes
deliveries older than 30 days each night (a periodic job)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sync.pruning import prune_older
from webhooks.delivery import deliver_loop
from webhooks.models import Delivery, Event

RETENTION = timedelta(days=30)
PRUNE_CRON = "41 3 * * *"


def prune_deliveries(now: datetime, batch_size: int = 2000) -> int:
    """Deletes deliveries made more than 30 days ago, in batches (each its own statement), then the events
    no delivery names any more; returns how many deliveries went."""
    cutoff = now - RETENTION
    removed = prune_older(Delivery, cutoff, batch_size)
    while True:
        orphans = list(
            Event.objects.filter(created_at__lt=cutoff, deliveries__isnull=True).values_list("pk", flat=True)[
                :batch_size
            ]
        )
        if not orphans:
            return removed
        Event.objects.filter(pk__in=orphans).delete()


def register_all() -> None:
    from jobs.registry import loop, periodic

    loop(
        "webhooks.deliver",
        deliver_loop,
        idle_seconds=1.0,
        description="Sends due webhook deliveries (every worker process, claimed row by row).",
    )
    periodic(
        "webhooks.prune_deliveries",
        PRUNE_CRON,
        prune_deliveries,
        description="Deletes webhook deliveries (and their events) older than 30 days.",
    )
