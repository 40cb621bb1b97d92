"""`fires_at`: the right instant across daylight-saving changes, and kept current through every write path
that moves it (the item's due date or time by REST, push or import; the owner's time zone)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from core.versioning import BaseVersion
from lists.services import item_update
from reminders import schedule_services as schedule
from reminders.models import Reminder
from tests.conftest import client_for
from tests.factories import (
    ItemFactory,
    ListFactory,
    MemberFactory,
    ReminderFactory,
    UserFactory,
    WorkspaceFactory,
)
from tests.portability.helpers import exported
from tests.sync.helpers import op, push

pytestmark = pytest.mark.django_db


def _fires(**values: Any) -> datetime | None:
    return schedule.fires_at(remind_at=None, **values)


class TestDaylightSaving:
    def test_minutes_before_are_real_minutes_across_the_spring_change(self) -> None:
        # Berlin moves from +01:00 to +02:00 at 02:00 local on 29 March 2026. Due 09:00 CEST = 07:00Z;
        # ten hours before is 21:00Z on the 28th (22:00 local, CET), not 23:00 local.
        at = _fires(
            due_date=date(2026, 3, 29), due_time=time(9, 0), minutes_before=600, timezone_name="Europe/Berlin"
        )
        assert at == datetime(2026, 3, 28, 21, 0, tzinfo=UTC)

    def test_minutes_before_across_the_autumn_change(self) -> None:
        # New York goes back from -04:00 to -05:00 at 02:00 local on 1 November 2026. Due 08:00 EST = 13:00Z;
        # 6 hours before is 07:00Z (03:00 EDT... 02:00 EST), one hour more than the wall clocks say.
        at = _fires(
            due_date=date(2026, 11, 1),
            due_time=time(8, 0),
            minutes_before=360,
            timezone_name="America/New_York",
        )
        assert at == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)

    def test_a_time_that_happens_twice_is_its_first_occurrence(self) -> None:
        at = _fires(
            due_date=date(2026, 11, 1),
            due_time=time(1, 30),
            minutes_before=0,
            timezone_name="America/New_York",
        )
        assert at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT (-04:00)

    def test_a_time_that_does_not_happen_lands_as_far_after_the_gap(self) -> None:
        at = _fires(
            due_date=date(2026, 3, 29), due_time=time(2, 30), minutes_before=0, timezone_name="Europe/Berlin"
        )
        assert at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # read at +01:00: 03:30 CEST

    def test_the_same_item_is_due_at_each_members_own_instant(self, db: Any) -> None:
        workspace = WorkspaceFactory.create(user=UserFactory.create(timezone="Asia/Tokyo"))
        member = MemberFactory.create(
            workspace=workspace, user=UserFactory.create(timezone="Europe/London")
        ).user
        shared = ListFactory.create(user=workspace.user, workspace=workspace.pk)
        item = ItemFactory.create(
            list=shared, user=workspace.user, due_date=date(2026, 7, 1), due_time=time(9, 0)
        )
        tokyo = ReminderFactory.create(item=item, user=workspace.user, minutes_before=0)
        london = ReminderFactory.create(item=item, user=member, minutes_before=0)
        assert tokyo.fires_at == datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
        assert london.fires_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def _setup(timezone: str = "Europe/Berlin") -> tuple[User, Any, Reminder]:
    user = UserFactory.create(timezone=timezone)
    item = ItemFactory.create(
        list=ListFactory.create(user=user), due_date=date(2026, 3, 28), due_time=time(9, 0)
    )
    reminder = ReminderFactory.create(item=item, user=user, minutes_before=15)
    return user, item, reminder


class TestKeptCurrent:
    def test_through_rest(self, db: Any) -> None:
        user, item, reminder = _setup()
        assert reminder.fires_at == datetime(2026, 3, 28, 7, 45, tzinfo=UTC)  # CET
        response = client_for(user).patch(
            f"/api/v1/items/{item.pk}", {"due_date": "2026-03-30", "version": item.version}, format="json"
        )
        assert response.status_code == 200, response.json()
        reminder.refresh_from_db()
        assert reminder.fires_at == datetime(2026, 3, 30, 6, 45, tzinfo=UTC)  # CEST now
        assert reminder.version == 1  # scheduling state: no new version for clients to pull
        answer = client_for(user).get(f"/api/v1/reminders/{reminder.pk}").json()
        assert answer["fires_at"] == "2026-03-30T06:45:00.000000Z"

    def test_through_push(self, db: Any) -> None:
        user, item, reminder = _setup()
        response = push(client_for(user), [op("update", "item", item.pk, item.version, due_time="18:00")])
        assert response.json()["results"][0]["status"] == "applied", response.json()
        reminder.refresh_from_db()
        assert reminder.fires_at == datetime(2026, 3, 28, 16, 45, tzinfo=UTC)

    def test_through_import(self, db: Any) -> None:
        user, item, reminder = _setup()
        client = client_for(user)
        document = exported(client)
        [entry] = [i for i in document["items"] if i["id"] == str(item.pk)]
        entry["due_date"] = "2026-04-02"
        entry["updated_at"] = "2099-01-01T00:00:00Z"
        assert [r["id"] for r in document["reminders"]] == [str(reminder.pk)]
        response = client.post("/api/v1/user/import", {"document": document, "mode": "merge"}, format="json")
        assert response.status_code == 200, response.json()
        reminder.refresh_from_db()
        assert reminder.fires_at == datetime(2026, 4, 2, 6, 45, tzinfo=UTC)

    def test_clearing_the_due_date_leaves_nothing_to_fire_at(self, db: Any) -> None:
        user, item, reminder = _setup()
        item_update(user=user, item_id=item.pk, base=BaseVersion(item.version), data={"due_date": None})
        reminder.refresh_from_db()
        assert reminder.fires_at is None

    def test_a_time_zone_change_moves_relative_reminders_only(self, db: Any) -> None:
        user, item, relative = _setup()
        absolute = ReminderFactory.create(
            item=item, user=user, remind_at=datetime(2026, 3, 28, 6, tzinfo=UTC)
        )
        client = client_for(user)
        profile = client.get("/api/v1/user/profile").json()
        response = client.patch(
            "/api/v1/user/profile", {"timezone": "Asia/Tokyo", "version": profile["version"]}, format="json"
        )
        assert response.status_code == 200, response.json()
        relative.refresh_from_db()
        absolute.refresh_from_db()
        assert relative.fires_at == datetime(2026, 3, 28, 0, 0 - 0, tzinfo=UTC).replace(
            hour=23, day=27, minute=45
        )
        assert absolute.fires_at == datetime(2026, 3, 28, 6, tzinfo=UTC)

    def test_another_members_change_of_a_workspace_item_moves_everyones_reminders(self, db: Any) -> None:
        workspace = WorkspaceFactory.create()
        editor = MemberFactory.create(workspace=workspace, role="editor").user
        viewer = MemberFactory.create(
            workspace=workspace, role="viewer", user=UserFactory.create(timezone="Asia/Tokyo")
        ).user
        shared = ListFactory.create(user=workspace.user, workspace=workspace.pk)
        item = ItemFactory.create(
            list=shared, user=workspace.user, due_date=date(2026, 7, 1), due_time=time(9, 0)
        )
        theirs = ReminderFactory.create(item=item, user=viewer, minutes_before=60)
        item_update(
            user=editor, item_id=item.pk, base=BaseVersion(item.version), data={"due_time": time(10, 0)}
        )
        theirs.refresh_from_db()
        assert theirs.fires_at == datetime(2026, 7, 1, 0, 0, tzinfo=UTC)  # 10:00 JST less an hour
        assert theirs.version == 1


def test_an_id_chosen_offline_keeps_working(user_client: APIClient, user: User) -> None:
    item = ItemFactory.create(
        list=ListFactory.create(user=user), due_date=date(2026, 7, 1), due_time=time(9, 0)
    )
    reminder_id = uuid.uuid4()
    response = push(user_client, [op("create", "reminder", reminder_id, item=str(item.pk), minutes_before=5)])
    assert response.json()["results"][0]["status"] == "applied", response.json()
    assert Reminder.objects.get(pk=reminder_id).fires_at == datetime(2026, 7, 1, 8, 55, tzinfo=UTC)
