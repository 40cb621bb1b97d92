"""The daily rollup: per UTC day, active users (that day, the 7 and the 30 days ending then) and the usage
counters, written by the worker's job `backoffice.rollup` (backoffice.periodic). Idempotent: a run rewrites
the rows of the days it covers from ActiveDay and UsageCount, so running it twice, or on two workers at
once, writes the same numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q

from backoffice.models import ActiveDay, DailyRollup, UsageCount
from backoffice.usage import COUNTER_NAMES

# ActiveDay rows are kept this long: the monthly count of a day needs the 30 days before it, and a rollup
# of yesterday may still run after midnight (or after the worker was down a few days).
ACTIVE_DAY_RETENTION_DAYS = 35
# The most days a run rewrites: older days' monthly counts would miss pruned rows.
MAX_ROLLUP_DAYS = ACTIVE_DAY_RETENTION_DAYS - 30 + 1


def rollup(*, now: datetime, days: int = 2) -> int:
    """Writes the rollups of the last `days` UTC days up to today (today's grows through the day; yesterday's
    is rewritten once more to take in the last flushes before midnight), at most MAX_ROLLUP_DAYS. Returns
    how many rows it wrote."""
    days = max(1, min(days, MAX_ROLLUP_DAYS))
    today = now.astimezone(UTC).date()
    covered = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    first, last = covered[0], covered[-1]
    # One query: for each covered day, the distinct users of that day, its week and its month.
    windows = {
        f"{kind}_{day:%Y%m%d}": Count(
            "user_id", distinct=True, filter=Q(day__gt=day - timedelta(days=span), day__lte=day)
        )
        for day in covered
        for kind, span in (("d", 1), ("w", 7), ("m", 30))
    }
    active = ActiveDay.objects.filter(day__gt=first - timedelta(days=30), day__lte=last).aggregate(**windows)
    counts = {
        (row["day"], row["name"]): row["count"]
        for row in UsageCount.objects.filter(day__gte=first, day__lte=last).values("day", "name", "count")
    }
    rows = [
        DailyRollup(
            day=day,
            active_users=active[f"d_{day:%Y%m%d}"],
            weekly_active_users=active[f"w_{day:%Y%m%d}"],
            monthly_active_users=active[f"m_{day:%Y%m%d}"],
            computed_at=now,
            **{name: counts.get((day, name), 0) for name in COUNTER_NAMES},
        )
        for day in covered
    ]
    with transaction.atomic():
        DailyRollup.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["day"],
            update_fields=[
                "active_users",
                "weekly_active_users",
                "monthly_active_users",
                *COUNTER_NAMES,
                "computed_at",
            ],
        )
        ActiveDay.objects.filter(day__lt=today - timedelta(days=ACTIVE_DAY_RETENTION_DAYS)).delete()
    return len(rows)
