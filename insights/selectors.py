"""Insights over a range of the user's days, computed by the database: every number comes from an
aggregate grouped by the user's local day, in a fixed number of queries whatever the data size (five).

The answer is kept in the shared cache under the change counters of every space the user sees, the range,
the time zone and the user's today. Every write goes through the sync write path and raises its space's
counter in its transaction, so a cached answer is never served after a write: the next request reads the
new counters and misses. The counters are read before the aggregates, so what a key holds is at least as
new as the counters it names. A hit costs one query (the counter) and one cache read.

Streaks are counted inside the range: `longest` is the longest run of active days in it, `current` the run
that ends on `to` (or on the day before, when `to` is today and today has no activity yet).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from prometheus_client import Counter

from antitodo.models import AntiTodoEntry
from core.dates import days_of, local_day_bounds, local_today, user_zone
from focus.models import FocusCard
from lists.models import Item
from sync.spaces import visible_heads

TOP_LISTS = 5
CACHE_SECONDS = 24 * 3600  # a key is never stale (see the module doc); this only bounds its memory
# The hit rate of this cache alone (django-prometheus' cache counters mix every use of the cache); the back
# office's health panel reads it from /metrics.
CACHE_LOOKUPS = Counter(
    "daymark_insights_cache", "Insights answers, by whether the cache had them", ["result"]
)


def _streaks(active: set[date], first: date, last: date, today: date) -> dict[str, int]:
    longest = run = 0
    for day in days_of(first, last):
        run = run + 1 if day in active else 0
        longest = max(longest, run)
    end = last - timedelta(days=1) if last == today and last not in active else last
    current = 0
    while end >= first and end in active:
        current += 1
        end -= timedelta(days=1)
    return {"current": current, "longest": longest}


def insights(
    user: Any, first: date, last: date, represent: Callable[[dict[str, Any]], Any] = lambda answer: answer
) -> Any:
    """The insights of `user` from `first` to `last`, as `represent` shapes them (the view's serializer):
    the shaped answer is what the cache keeps, so a hit neither computes nor serialises (365 days are two
    lists of 365 objects, some milliseconds through DRF's fields)."""
    zone = user_zone(user)
    today = local_today(user)
    # The heads of every space the user sees: any write there may change what the user completed.
    counter = ".".join(
        f"{space}-{head}" for space, head in visible_heads(user).values_list("pk", "last_change_number")
    )
    shape = getattr(represent, "__qualname__", "")
    key = f"insights:v2:{shape}:{user.pk}:{counter}:{first}:{last}:{zone.key}:{today}"
    answer = cache.get(key)
    if answer is None:
        CACHE_LOOKUPS.labels(result="miss").inc()
        answer = represent(_compute(user, first, last, zone, today))
        cache.set(key, answer, CACHE_SECONDS)
    else:
        CACHE_LOOKUPS.labels(result="hit").inc()
    return answer


def _compute(user: Any, first: date, last: date, zone: ZoneInfo, today: date) -> dict[str, Any]:
    start, end = local_day_bounds(first, last, zone)
    # What the user did themself, in their personal lists and in their workspaces' (docs/api/workspaces.md):
    # items they created and completed; the open overdue ones are theirs to do (personal, or assigned).
    items = Item.objects.for_user(user)
    completed_in_range = Q(
        completed_by=user, status=Item.Status.DONE, completed_at__gte=start, completed_at__lt=end
    )
    theirs_to_do = Q(space__user=user) | Q(assignee=user)

    # 1: the item counters in one aggregate.
    counts = items.aggregate(
        created=Count("id", filter=Q(created_by=user, created_at__gte=start, created_at__lt=end)),
        completed=Count("id", filter=completed_in_range),
        overdue_open=Count("id", filter=theirs_to_do & Q(status=Item.Status.OPEN, due_date__lt=today)),
    )
    # 2: completions per local day.
    completed_by_day = dict(
        items.filter(completed_in_range)
        .annotate(day=TruncDate("completed_at", tzinfo=zone))
        .values("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
    )
    # 3: anti-todo entries per day (their `date` already is a local day).
    anti_by_day = dict(
        AntiTodoEntry.objects.for_user(user)
        .filter(date__gte=first, date__lte=last)
        .values("date")
        .annotate(count=Count("id"))
        .values_list("date", "count")
    )
    # 4: cards, planned entries and entries whose item is done.
    focus = (
        FocusCard.objects.for_user(user)
        .filter(date__gte=first, date__lte=last)
        .aggregate(
            cards=Count("id", distinct=True),
            planned=Count("entries"),
            done=Count("entries", filter=Q(entries__item__status=Item.Status.DONE)),
        )
    )
    # 5: the lists with the most completions in the range.
    top_lists = list(
        items.filter(completed_in_range)
        .values("list_id", "list__name")
        .annotate(completed=Count("id"))
        .order_by("-completed", "list__name", "list_id")[:TOP_LISTS]
    )

    days = days_of(first, last)
    active = {d for d, n in completed_by_day.items() if n} | {d for d, n in anti_by_day.items() if n}
    planned = focus["planned"]
    return {
        "range": {"from": first, "to": last},
        "timezone": zone.key,
        "items": {
            "created": counts["created"],
            "completed": counts["completed"],
            "completed_by_day": [{"date": d, "count": completed_by_day.get(d, 0)} for d in days],
            "overdue_open": counts["overdue_open"],
        },
        "streak": _streaks(active, first, last, today),
        "focus": {
            "cards": focus["cards"],
            "planned": planned,
            "done": focus["done"],
            "completion_rate": round(focus["done"] / planned, 4) if planned else 0.0,
        },
        "anti_todo": {
            "entries": sum(anti_by_day.values()),
            "by_day": [{"date": d, "count": anti_by_day.get(d, 0)} for d in days],
        },
        "top_lists": [
            {"list": row["list_id"], "name": row["list__name"], "completed": row["completed"]}
            for row in top_lists
        ],
    }
