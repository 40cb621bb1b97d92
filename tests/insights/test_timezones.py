"""Every date falls on the user's local day: around local midnight and across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from accounts.models import User
from core.versioning import BaseVersion
from insights.selectors import insights
from lists.services import item_update
from tests.conftest import client_for
from tests.factories import AntiTodoEntryFactory, ItemFactory, ListFactory, UserFactory


def _done_at(user: User, when: datetime) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    item_update(
        user=user, item_id=item.pk, base=BaseVersion(version=1), data={"status": "done", "completed_at": when}
    )


def _by_day(user: User, first: date, last: date) -> dict[str, int]:
    got = insights(user, first, last)["items"]["completed_by_day"]
    return {d["date"].isoformat(): d["count"] for d in got if d["count"]}


# (zone, a UTC instant just before local midnight, the local day it falls on, the day after it)
MIDNIGHTS = [
    ("Pacific/Auckland", "2026-05-04T11:59:59Z", "2026-05-04", "2026-05-05"),  # NZST, UTC+12
    ("America/Los_Angeles", "2026-05-05T06:59:59Z", "2026-05-04", "2026-05-05"),  # PDT, UTC-7
    ("UTC", "2026-05-04T23:59:59Z", "2026-05-04", "2026-05-05"),
]


@pytest.mark.parametrize(("tz", "instant", "before", "after"), MIDNIGHTS)
def test_today_turns_at_the_users_local_midnight(
    db: Any, tz: str, instant: str, before: str, after: str
) -> None:
    user = UserFactory.create(timezone=tz)
    ItemFactory.create(list=ListFactory.create(user=user))
    with time_machine.travel(instant, tick=False):
        client = client_for(user)
        assert client.post("/api/v1/focus-card/generate", {}, format="json").json()["date"] == before
        assert client.post("/api/v1/anti-todo", {"title": "a"}, format="json").json()["date"] == before
        assert client.get("/api/v1/user/insights").json()["range"]["to"] == before
        assert client.get("/api/v1/focus-card").json()["date"] == before
    with time_machine.travel(datetime.fromisoformat(instant) + timedelta(seconds=1), tick=False):
        client = client_for(user)
        assert client.get("/api/v1/focus-card").status_code == 404  # a new day, no card yet
        assert client.post("/api/v1/focus-card/generate", {}, format="json").json()["date"] == after
        assert client.post("/api/v1/anti-todo", {"title": "b"}, format="json").json()["date"] == after
        assert client.get("/api/v1/user/insights").json()["range"]["to"] == after


@pytest.mark.parametrize(("tz", "instant", "before", "after"), MIDNIGHTS)
def test_completions_around_local_midnight_fall_on_the_local_day(
    db: Any, tz: str, instant: str, before: str, after: str
) -> None:
    user = UserFactory.create(timezone=tz)
    last_second = datetime.fromisoformat(instant)
    _done_at(user, last_second)
    _done_at(user, last_second + timedelta(seconds=1))
    got = _by_day(user, date(2026, 5, 1), date(2026, 5, 6))
    assert got == {before: 1, after: 1}


def test_los_angeles_across_the_spring_forward(db: Any) -> None:
    # 2026-03-08 02:00 PST becomes 03:00 PDT: a 23-hour day; midnight is 08:00Z before, 07:00Z after.
    user = UserFactory.create(timezone="America/Los_Angeles")
    for instant in [
        "2026-03-08T07:59:59Z",  # 23:59:59 PST on the 7th
        "2026-03-08T08:00:00Z",  # 00:00 PST on the 8th
        "2026-03-09T06:59:59Z",  # 23:59:59 PDT on the 8th
        "2026-03-09T07:00:00Z",  # 00:00 PDT on the 9th
    ]:
        _done_at(user, datetime.fromisoformat(instant))
    assert _by_day(user, date(2026, 3, 6), date(2026, 3, 10)) == {
        "2026-03-07": 1,
        "2026-03-08": 2,
        "2026-03-09": 1,
    }
    assert insights(user, date(2026, 3, 8), date(2026, 3, 8))["items"]["completed"] == 2


def test_auckland_across_the_fall_back(db: Any) -> None:
    # 2026-04-05 03:00 NZDT becomes 02:00 NZST: a 25-hour day from 11:00Z on the 4th to 12:00Z on the 5th.
    user = UserFactory.create(timezone="Pacific/Auckland")
    for instant in [
        "2026-04-04T10:59:59Z",  # 23:59:59 NZDT on the 4th
        "2026-04-04T11:00:00Z",  # 00:00 NZDT on the 5th
        "2026-04-05T11:59:59Z",  # 23:59:59 NZST on the 5th
        "2026-04-05T12:00:00Z",  # 00:00 NZST on the 6th
    ]:
        _done_at(user, datetime.fromisoformat(instant))
    assert _by_day(user, date(2026, 4, 3), date(2026, 4, 7)) == {
        "2026-04-04": 1,
        "2026-04-05": 2,
        "2026-04-06": 1,
    }


def test_streaks_count_local_days_with_a_grace_for_today(db: Any) -> None:
    user = UserFactory.create(timezone="Pacific/Auckland")
    # Local afternoons of May 1, 2, 3 (NZST 15:00 = 03:00Z) and an anti-todo entry on May 5.
    for day in (1, 2, 3):
        _done_at(user, datetime(2026, 5, day, 3, tzinfo=UTC))
    AntiTodoEntryFactory.create(user=user, date=date(2026, 5, 5))
    AntiTodoEntryFactory.create(user=user, date=date(2026, 5, 6))
    with time_machine.travel("2026-05-06T20:00:00Z", tick=False):  # 08:00 on May 7 in Auckland
        streak = insights(user, date(2026, 4, 28), date(2026, 5, 7))["streak"]
    assert streak == {"current": 2, "longest": 3}
    with time_machine.travel("2026-05-08T20:00:00Z", tick=False):  # May 9: yesterday was idle
        streak = insights(user, date(2026, 4, 28), date(2026, 5, 9))["streak"]
    assert streak == {"current": 0, "longest": 3}
    # In Los Angeles, the same instants are the evenings of Apr 30, May 1 and May 2.
    user.timezone = "America/Los_Angeles"
    user.save(update_fields=["timezone"])
    got = insights(user, date(2026, 4, 28), date(2026, 5, 4))
    assert {d["date"].isoformat() for d in got["items"]["completed_by_day"] if d["count"]} == {
        "2026-04-30",
        "2026-05-01",
        "2026-05-02",
    }
