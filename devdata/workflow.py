"""Demo data of the daily workflow for `seed_demo`: a few weeks of completed items, focus cards and
anti-todo entries, so the demo user's insights are not empty. Every entity has a fixed uuid5 id and is
created only when missing (a card also only when its day has none), so running it again changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from antitodo.models import AntiTodoEntry
from antitodo.services import anti_todo_create
from core.dates import local_day_start, local_today, user_zone
from focus.models import FocusCard
from focus.services import focus_card_generate, focus_card_put
from lists.models import Item, List
from lists.services import item_create, list_create

NAMESPACE = uuid.UUID("0b8f7c52-7e0e-4a8e-9a39-6c2a1f3f4d10")
HISTORY_DAYS = 21
DONE_TITLES = ["Answer emails", "Water the plants", "Go for a run", "Tidy the desk", "Plan the week"]
ANTI_TODO = ["Helped a neighbour move a sofa", "Fixed the squeaky door", "Called grandma"]


def _id(user: Any, *parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join([str(user.pk), *map(str, parts)]))


def seed_workflow(user: Any) -> int:
    created = 0
    today = local_today(user)
    zone = user_zone(user)
    history_id = _id(user, "list", "Habits")
    if not List.objects.filter(pk=history_id).exists():
        created += list_create(
            user=user,
            data={"name": "Habits", "color": "#3BA55C", "position": 9, "archived": False},
            list_id=history_id,
        )[1]
    for back in range(1, HISTORY_DAYS + 1):
        day = today - timedelta(days=back)
        if back % 6 == 0:
            continue  # a rest day now and then, so streaks have an end
        for n in range(1 + back % 3):
            item_id = _id(user, "done", day, n)
            if Item.objects.filter(pk=item_id).exists():
                continue
            # Completed in the past: the client may send completed_at, not in the future.
            done_at = local_day_start(day, zone) + timedelta(hours=9 + 2 * n)
            data = {
                "list": history_id,
                "title": DONE_TITLES[(back + n) % len(DONE_TITLES)],
                "status": "done",
                "completed_at": done_at,
            }
            created += item_create(user=user, data=data, item_id=item_id)[1]
        if back % 4 == 1:
            entry_id = _id(user, "anti", day)
            if not AntiTodoEntry.objects.filter(pk=entry_id).exists():
                data = {"date": day, "title": ANTI_TODO[back % len(ANTI_TODO)]}
                created += anti_todo_create(user=user, data=data, entry_id=entry_id)[1]
        if back <= 7 and not FocusCard.objects.filter(user=user, date=day).exists():
            start, end = local_day_start(day, zone), local_day_start(day + timedelta(days=1), zone)
            done = Item.objects.filter(list_id=history_id, completed_at__gte=start, completed_at__lt=end)
            ids = list(done.order_by("completed_at", "id").values_list("pk", flat=True)[:2])
            created += focus_card_put(
                user=user,
                day=day,
                base=None,
                data={"intention": "Keep the habits", "items": ids},
                card_id=_id(user, "card", day),
            )[1]
    if not FocusCard.objects.filter(user=user, date=today).exists():
        created += focus_card_generate(user=user, day=today, size=3)[1]
    return created
