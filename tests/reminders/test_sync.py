"""Reminders and notifications in the change feed and in pushes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from accounts.models import User
from reminders.firing_services import fire_batch
from reminders.models import Notification, Reminder
from reminders.services import notification_create
from tests.factories import ItemFactory, ListFactory, ReminderFactory
from tests.sync.helpers import op, pull, push

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 7, 1, 12, tzinfo=UTC)


def _changes(answer: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [change for change in answer["changes"] if change["type"] == type_]


def test_the_feed_carries_a_fired_reminder_and_its_notification(user_client: Any, user: User) -> None:
    item = ItemFactory.create(
        list=ListFactory.create(user=user), due_date=date(2026, 7, 1), due_time=time(12)
    )
    reminder = ReminderFactory.create(item=item, user=user, minutes_before=0)
    cursor = pull(user_client)["cursor"]
    fire_batch(NOON)

    answer = pull(user_client, cursor)

    [change] = _changes(answer, "reminder")
    assert change["version"] == 2
    # The reminder's own fields: fires_at is derived (scheduling state), left out like open_count.
    assert change["data"] == {
        "id": str(reminder.pk),
        "item": str(item.pk),
        "remind_at": None,
        "minutes_before": 0,
        "fired_at": "2026-07-01T12:00:00.000000Z",
        "version": 2,
        "created_at": change["data"]["created_at"],
        "updated_at": change["data"]["updated_at"],
    }
    [notification] = _changes(answer, "notification")
    assert notification["data"]["kind"] == "reminder"
    assert notification["data"]["data"]["reminder"] == str(reminder.pk)
    assert notification["data"]["read_at"] is None


def test_a_full_sync_holds_them_and_another_users_are_not_there(
    user_client: Any, user: User, other_user: User
) -> None:
    ReminderFactory.create(item=ItemFactory.create(list=ListFactory.create(user=user)), user=user)
    notification_create(user=user, kind="reminder", data={})
    ReminderFactory.create(item=ItemFactory.create(list=ListFactory.create(user=other_user)), user=other_user)
    notification_create(user=other_user, kind="reminder", data={})

    answer = pull(user_client)

    assert len(_changes(answer, "reminder")) == 1
    assert len(_changes(answer, "notification")) == 1


def test_reminders_are_pushed_created_updated_and_deleted(user_client: Any, user: User) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user), due_date=date(2026, 7, 1), due_time=time(9))
    reminder_id = uuid.uuid4()
    answer = push(
        user_client,
        [
            op("create", "reminder", reminder_id, item=str(item.pk), remind_at="2026-07-01T08:00:00Z"),
            op("update", "reminder", reminder_id, 1, minutes_before=10),
        ],
    ).json()
    assert [r["status"] for r in answer["results"]] == ["applied", "applied"], answer
    assert answer["results"][1]["entity"]["fires_at"] == "2026-07-01T08:50:00.000000Z"
    answer = push(user_client, [op("delete", "reminder", reminder_id, 2)]).json()
    assert answer["results"][0]["status"] == "applied"
    assert not Reminder.objects.exists()


def test_a_pushed_reminder_with_bad_data_is_invalid(user_client: Any, user: User, other_user: User) -> None:
    theirs = ItemFactory.create(list=ListFactory.create(user=other_user))
    mine = ItemFactory.create(list=ListFactory.create(user=user))
    results = push(
        user_client,
        [
            op("create", "reminder", uuid.uuid4(), item=str(theirs.pk), remind_at="2026-07-01T08:00:00Z"),
            op("create", "reminder", uuid.uuid4(), item=str(mine.pk), minutes_before=5),  # no due time
            op("create", "reminder", uuid.uuid4(), item=str(mine.pk), minutes_before=-5),
        ],
    ).json()["results"]
    assert [r["status"] for r in results] == ["invalid"] * 3
    assert not Reminder.objects.exists()


def test_a_notification_is_pushed_read_and_nothing_else(user_client: Any, user: User) -> None:
    notification = notification_create(user=user, kind="reminder", data={"title": "x"})
    results = push(
        user_client,
        [
            op("update", "notification", notification.pk, 1, read_at="2026-07-01T12:00:00Z"),
            op("update", "notification", notification.pk, 2, kind="invitation"),
            op("create", "notification", uuid.uuid4(), kind="reminder"),
            op("delete", "notification", notification.pk, 2),
        ],
    ).json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied", "invalid", "invalid"], results
    notification.refresh_from_db()
    assert notification.read_at == NOON
    assert notification.kind == "reminder"  # read-only: ignored
    assert notification.version == 2


def test_another_users_notification_is_not_found_in_a_push(user_client: Any, other_user: User) -> None:
    theirs = notification_create(user=other_user, kind="reminder", data={})
    [result] = push(user_client, [op("update", "notification", theirs.pk, 1, read_at=None)]).json()["results"]
    assert result["status"] == "invalid"
    assert result["error"]["code"] == "not_found"
    assert Notification.objects.get(pk=theirs.pk).version == 1
