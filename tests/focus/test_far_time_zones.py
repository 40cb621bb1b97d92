"""'Today' at the edges of the world (+14 and -11) and on DST days (docs/api/README.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.conftest import client_for
from tests.factories import ItemFactory, ListFactory, UserFactory

pytestmark = pytest.mark.django_db

# 10:30 UTC on 2026-03-01: already 2026-03-02 in Kiritimati (+14), still 2026-02-28 in Pago Pago (-11).
INSTANT = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "today"), [("Pacific/Kiritimati", "2026-03-02"), ("Pacific/Pago_Pago", "2026-02-28")]
)
def test_every_default_day_is_today_where_the_user_lives(tz: str, today: str) -> None:
    user = UserFactory.create(timezone=tz)
    ItemFactory.create(list=ListFactory.create(user=user))
    with time_machine.travel(INSTANT, tick=False):
        client = client_for(user)
        generated = client.post("/api/v1/focus-card/generate", {}, format="json")
        fetched = client.get("/api/v1/focus-card")
        entry = client.post("/api/v1/anti-todo", {"title": "x"}, format="json")
        day = client.get("/api/v1/anti-todo")
        insights = client.get("/api/v1/user/insights")

    assert generated.status_code == 201, generated.content
    assert generated.json()["date"] == fetched.json()["date"] == today
    assert entry.json()["date"] == today
    assert [e["date"] for e in day.json()["results"]] == [today]
    assert insights.json()["range"]["to"] == today
    assert insights.json()["anti_todo"]["entries"] == 1


def test_an_item_completed_late_in_the_evening_counts_on_that_local_day() -> None:
    user = UserFactory.create(timezone="Pacific/Pago_Pago")
    item = ItemFactory.create(list=ListFactory.create(user=user))
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=UTC), tick=False):  # 23:00 on 03-01 there
        client = client_for(user)
        done = client.patch(f"/api/v1/items/{item.pk}", {"status": "done", "version": 1}, format="json")
        assert done.status_code == 200, done.content
        insights = client.get("/api/v1/user/insights?from=2026-03-01&to=2026-03-01").json()

    assert insights["items"]["completed"] == 1
    assert insights["items"]["completed_by_day"] == [{"date": "2026-03-01", "count": 1}]
    assert insights["streak"]["current"] == 1


@pytest.mark.parametrize(
    ("tz", "day"),
    [
        ("America/New_York", "2026-03-08"),
        ("America/New_York", "2026-11-01"),
        ("America/Santiago", "2026-09-06"),
    ],
)
def test_dst_days_are_whole_days(tz: str, day: str) -> None:
    user = UserFactory.create(timezone=tz)
    client = client_for(user)

    response = client.get(f"/api/v1/user/insights?from={day}&to={day}")
    cards = client.get(f"/api/v1/focus-cards?from={day}&to={day}")

    assert response.status_code == 200
    assert [d["date"] for d in response.json()["items"]["completed_by_day"]] == [day]
    assert cards.status_code == 200


def test_changing_the_time_zone_moves_today() -> None:
    user = UserFactory.create(timezone="Pacific/Pago_Pago")
    with time_machine.travel(INSTANT, tick=False):
        client = client_for(user)
        version = client.get("/api/v1/user/profile").json()["version"]
        changed = client.patch(
            "/api/v1/user/profile", {"timezone": "Pacific/Kiritimati", "version": version}, format="json"
        )
        entry = client.post("/api/v1/anti-todo", {"title": "x"}, format="json")

    assert changed.status_code == 200
    assert entry.json()["date"] == "2026-03-02"
