"""Insights against a brute-force computation over random factory data, in several time zones."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import User
from antitodo.models import AntiTodoEntry
from core.versioning import BaseVersion
from focus.models import FocusCard, FocusCardItem
from insights.selectors import insights
from lists.models import Item
from lists.services import item_update
from tests.factories import AntiTodoEntryFactory, FocusCardFactory, ItemFactory, ListFactory, UserFactory

NOW = datetime(2026, 3, 20, 10, 30, tzinfo=UTC)  # after the US DST change, before the NZ one


def _random_data(user: User, rng: random.Random) -> None:
    lists = [
        ListFactory.create(user=user, name=rng.choice(["Home", "Work", "Errands", "Zed"]))
        for _ in range(rng.randint(2, 7))
    ]
    for _ in range(rng.randint(5, 35)):
        created = NOW - timedelta(minutes=rng.randint(0, 60 * 24 * 50))
        with time_machine.travel(created, tick=False):
            due = rng.choice([None, NOW.date() + timedelta(days=rng.randint(-10, 10))])
            item = ItemFactory.create(list=rng.choice(lists), due_date=due, priority=rng.randint(1, 4))
        if rng.random() < 0.6:
            done_at = created + timedelta(minutes=rng.randint(0, int((NOW - created).total_seconds() // 60)))
            with time_machine.travel(NOW, tick=False):
                item_update(
                    user=user,
                    item_id=item.pk,
                    base=BaseVersion(version=item.version),
                    data={"status": "done", "completed_at": done_at},
                )
    for _ in range(rng.randint(0, 20)):
        AntiTodoEntryFactory.create(user=user, date=NOW.date() - timedelta(days=rng.randint(0, 45)))
    items = list(Item.objects.filter(user=user))
    for day in {NOW.date() - timedelta(days=rng.randint(0, 45)) for _ in range(rng.randint(0, 8))}:
        FocusCardFactory.create(
            user=user, date=day, items=rng.sample(items, rng.randint(0, min(5, len(items))))
        )


def _expected(user: User, first: date, last: date) -> dict[str, Any]:
    zone = ZoneInfo(user.timezone)
    today = NOW.astimezone(zone).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    items = list(Item.objects.filter(user=user).select_related("list"))
    done_days = Counter(
        i.completed_at.astimezone(zone).date()
        for i in items
        if i.completed_at and first <= i.completed_at.astimezone(zone).date() <= last
    )
    anti_days = Counter(e.date for e in AntiTodoEntry.objects.filter(user=user) if first <= e.date <= last)
    active = [d in done_days or d in anti_days for d in days]
    runs = [len(list(g)) for on, g in itertools.groupby(active) if on]
    tail = active[:-1] if days[-1] == today and not active[-1] else active
    current = len(tail) - len(list(itertools.dropwhile(lambda a: a, reversed(tail)))) if tail else 0
    cards = [c for c in FocusCard.objects.filter(user=user) if first <= c.date <= last]
    entries = [e for e in FocusCardItem.objects.select_related("item") if e.card in cards]
    per_list = Counter(
        (i.list_id, i.list.name)
        for i in items
        if i.completed_at and first <= i.completed_at.astimezone(zone).date() <= last
    )
    top = sorted(per_list.items(), key=lambda kv: (-kv[1], kv[0][1], str(kv[0][0])))[:5]
    planned = len(entries)
    done = sum(e.item.status == "done" for e in entries)
    return {
        "created": sum(first <= i.created_at.astimezone(zone).date() <= last for i in items),
        "completed": sum(done_days.values()),
        "completed_by_day": [{"date": d, "count": done_days.get(d, 0)} for d in days],
        "overdue_open": sum(
            i.status == "open" and i.due_date is not None and i.due_date < today for i in items
        ),
        "streak": {"current": current, "longest": max(runs, default=0)},
        "focus": {"cards": len(cards), "planned": planned, "done": done},
        "anti_todo": {
            "entries": sum(anti_days.values()),
            "by_day": [{"date": d, "count": anti_days.get(d, 0)} for d in days],
        },
        "top_lists": [{"list": lid, "name": name, "completed": n} for (lid, name), n in top],
    }


@pytest.mark.parametrize("tz", ["Pacific/Auckland", "America/Los_Angeles", "UTC"])
@pytest.mark.parametrize("seed", range(4))
def test_insights_agree_with_a_brute_force_count(db: Any, tz: str, seed: int) -> None:
    rng = random.Random(f"{tz}/{seed}")
    user = UserFactory.create(timezone=tz)
    _random_data(user, rng)
    today = NOW.astimezone(ZoneInfo(tz)).date()
    for first, last in [
        (today - timedelta(days=29), today),
        (today - timedelta(days=rng.randint(0, 40)), today - timedelta(days=rng.randint(0, 3))),
    ]:
        if first > last:
            first, last = last, first
        with time_machine.travel(NOW, tick=False):
            got = insights(user, first, last)
        expected = _expected(user, first, last)
        assert got["items"]["created"] == expected["created"]
        assert got["items"]["completed"] == expected["completed"]
        assert got["items"]["completed_by_day"] == expected["completed_by_day"]
        assert got["items"]["overdue_open"] == expected["overdue_open"]
        assert got["streak"] == expected["streak"]
        assert {k: got["focus"][k] for k in ("cards", "planned", "done")} == expected["focus"]
        assert got["anti_todo"] == expected["anti_todo"]
        assert got["top_lists"] == expected["top_lists"]
        _assert_self_consistent(got, first, last)


def _assert_self_consistent(got: dict[str, Any], first: date, last: date) -> None:
    span = (last - first).days + 1
    by_day = got["items"]["completed_by_day"]
    assert len(by_day) == span == len(got["anti_todo"]["by_day"])
    assert sum(d["count"] for d in by_day) == got["items"]["completed"]
    assert sum(d["count"] for d in got["anti_todo"]["by_day"]) == got["anti_todo"]["entries"]
    active_days = sum(
        1 for a, b in zip(by_day, got["anti_todo"]["by_day"], strict=True) if a["count"] or b["count"]
    )
    assert 0 <= got["streak"]["current"] <= got["streak"]["longest"] <= active_days <= span
    focus = got["focus"]
    assert 0 <= focus["done"] <= focus["planned"]
    assert focus["completion_rate"] == (
        round(focus["done"] / focus["planned"], 4) if focus["planned"] else 0.0
    )
    assert sum(t["completed"] for t in got["top_lists"]) <= got["items"]["completed"]
    assert [t["completed"] for t in got["top_lists"]] == sorted(
        (t["completed"] for t in got["top_lists"]), reverse=True
    )
