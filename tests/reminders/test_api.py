"""`reminders` and `notifications` over REST: shapes, versions, bad input, another user's data."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from lists.models import Item
from reminders.firing_services import fire_batch
from reminders.models import MAX_PER_ITEM, Notification, Reminder
from reminders.services import notification_create
from tests.conftest import client_for
from tests.factories import (
    ItemFactory,
    ListFactory,
    MemberFactory,
    ReminderFactory,
    UserFactory,
    WorkspaceFactory,
)

URL = "/api/v1/reminders"
NOTIFICATIONS = "/api/v1/notifications"
pytestmark = pytest.mark.django_db


def _timed_item(user: User, **extra: Any) -> Item:
    return ItemFactory.create(
        list=ListFactory.create(user=user), due_date=date(2026, 7, 1), due_time=time(9, 0), **extra
    )


def test_it_creates_an_absolute_reminder(user_client: APIClient, user: User) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    response = user_client.post(
        URL, {"item": str(item.pk), "remind_at": "2026-07-01T08:00:00+02:00"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["remind_at"] == body["fires_at"] == "2026-07-01T06:00:00.000000Z"
    assert body["minutes_before"] is None
    assert body["fired_at"] is None
    assert body["version"] == 1
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith(f"{URL}/{body['id']}")
    assert list(body) == [
        "id",
        "item",
        "remind_at",
        "minutes_before",
        "fired_at",
        "fires_at",
        "version",
        "created_at",
        "updated_at",
    ]


def test_a_relative_reminder_fires_before_the_due_time_in_the_users_zone(db: Any) -> None:
    user = UserFactory.create(timezone="America/New_York")
    item = _timed_item(user)
    response = client_for(user).post(URL, {"item": str(item.pk), "minutes_before": 30}, format="json")
    assert response.status_code == 201, response.json()
    # 09:00 in New York in July is 13:00 UTC; 30 minutes before.
    assert response.json()["fires_at"] == "2026-07-01T12:30:00.000000Z"
    assert response.json()["remind_at"] is None


def test_a_relative_reminder_needs_the_items_due_date_and_time(user_client: APIClient, user: User) -> None:
    undated = ItemFactory.create(list=ListFactory.create(user=user))
    dated = ItemFactory.create(list=ListFactory.create(user=user), due_date=date(2026, 7, 1))
    for item in (undated, dated):
        response = user_client.post(URL, {"item": str(item.pk), "minutes_before": 10}, format="json")
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["minutes_before"]
    assert not Reminder.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"minutes_before": 5},
        {"item": "ITEM"},  # neither timing
        {"item": "ITEM", "remind_at": "2026-07-01T08:00:00Z", "minutes_before": 5},  # both
        {"item": "ITEM", "minutes_before": -1},
        {"item": "ITEM", "minutes_before": 40_321},
        {"item": "ITEM", "minutes_before": "5"},
        {"item": "ITEM", "minutes_before": True},
        {"item": "ITEM", "minutes_before": 1.5},
        {"item": "ITEM", "remind_at": "2026-07-01"},
        {"item": "ITEM", "remind_at": "2026-07-01T08:00:00"},  # no offset: no instant
        {"item": "ITEM", "remind_at": "2026-02-30T08:00:00Z"},
        {"item": "ITEM", "remind_at": 1782900000},
        {"item": "ITEM", "remind_at": "2026-07-01T08:00:00Z\u0000"},
        {"item": "not-a-uuid", "remind_at": "2026-07-01T08:00:00Z"},
        {"item": 12, "remind_at": "2026-07-01T08:00:00Z"},
        {"item": str(uuid.uuid4()), "remind_at": "2026-07-01T08:00:00Z"},  # no such item
        {"item": "ITEM", "remind_at": "2026-07-01T08:00:00Z", "colour": "red"},
        {"item": "ITEM", "remind_at": "2026-07-01T08:00:00Z", "id": "nope"},
    ],
)
def test_it_rejects_bad_reminders(user_client: APIClient, user: User, body: dict[str, Any]) -> None:
    item = _timed_item(user)
    body = {key: str(item.pk) if value == "ITEM" else value for key, value in body.items()}
    response = user_client.post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert not Reminder.objects.exists()


def test_malformed_json_is_a_400(user_client: APIClient) -> None:
    response = user_client.post(URL, b'{"item": ', content_type="application/json")
    assert response.status_code == 400


def test_read_only_fields_sent_back_are_ignored(user_client: APIClient, user: User) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    body = {
        "item": str(item.pk),
        "remind_at": "2026-07-01T08:00:00Z",
        "fires_at": "2000-01-01T00:00:00Z",
        "fired_at": "2000-01-01T00:00:00Z",
        "created_at": "2000-01-01T00:00:00Z",
    }
    response = user_client.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["fires_at"] == "2026-07-01T08:00:00.000000Z"
    assert response.json()["fired_at"] is None


def test_another_users_item_is_no_such_item(user_client: APIClient, other_user: User) -> None:
    theirs = _timed_item(other_user)
    response = user_client.post(URL, {"item": str(theirs.pk), "minutes_before": 5}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"item": ["No such item."]}


def test_another_users_reminder_is_a_404(user_client: APIClient, other_user: User) -> None:
    theirs = ReminderFactory.create(item=_timed_item(other_user))
    assert user_client.get(f"{URL}/{theirs.pk}").status_code == 404
    patch = user_client.patch(f"{URL}/{theirs.pk}", {"minutes_before": 5, "version": 1}, format="json")
    assert patch.status_code == 404
    assert user_client.delete(f"{URL}/{theirs.pk}?version=1").status_code == 404
    assert user_client.get(URL).json()["results"] == []
    theirs.refresh_from_db()
    assert theirs.version == 1


def test_a_retried_create_is_harmless_and_other_content_or_anothers_id_is_409(
    user_client: APIClient, user: User, other_user: User
) -> None:
    item = _timed_item(user)
    body = {"id": str(uuid.uuid4()), "item": str(item.pk), "minutes_before": 15}
    assert user_client.post(URL, body, format="json").status_code == 201
    assert user_client.post(URL, body, format="json").status_code == 200
    assert user_client.post(URL, {**body, "minutes_before": 20}, format="json").status_code == 409
    theirs = ReminderFactory.create(item=_timed_item(other_user))
    response = user_client.post(URL, {**body, "id": str(theirs.pk)}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "id_conflict"


def test_at_most_fifty_per_item_and_user(user_client: APIClient, user: User) -> None:
    item = _timed_item(user)
    for minutes in range(MAX_PER_ITEM):
        ReminderFactory.create(item=item, minutes_before=minutes)
    response = user_client.post(URL, {"item": str(item.pk), "minutes_before": 60}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["item"]
    other_item = _timed_item(user)
    assert (
        user_client.post(URL, {"item": str(other_item.pk), "minutes_before": 60}, format="json").status_code
        == 201
    )


def test_a_viewer_sets_reminders_on_workspace_items_and_a_stranger_cannot(db: Any) -> None:
    workspace = WorkspaceFactory.create()
    viewer = MemberFactory.create(workspace=workspace, role="viewer").user
    shared = ListFactory.create(user=workspace.user, workspace=workspace.pk)
    item = ItemFactory.create(
        list=shared, user=workspace.user, due_date=date(2026, 7, 1), due_time=time(9, 0)
    )
    response = client_for(viewer).post(URL, {"item": str(item.pk), "minutes_before": 10}, format="json")
    assert response.status_code == 201, response.json()
    stranger = UserFactory.create()
    response = client_for(stranger).post(URL, {"item": str(item.pk), "minutes_before": 10}, format="json")
    assert response.status_code == 400


class TestUpdates:
    def test_a_patch_needs_a_version(self, user_client: APIClient, user: User) -> None:
        reminder = ReminderFactory.create(item=_timed_item(user))
        response = user_client.patch(f"{URL}/{reminder.pk}", {"minutes_before": 5}, format="json")
        assert response.status_code == 428

    def test_switching_to_relative_clears_remind_at_and_recomputes(
        self, user_client: APIClient, user: User
    ) -> None:
        reminder = ReminderFactory.create(item=_timed_item(user))
        response = user_client.patch(
            f"{URL}/{reminder.pk}", {"minutes_before": 60}, format="json", HTTP_IF_MATCH='"1"'
        )
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["remind_at"] is None
        assert body["fires_at"] == "2026-07-01T08:00:00.000000Z"  # 09:00 UTC, an hour before
        assert body["version"] == 2

    def test_a_stale_if_match_is_412_and_a_stale_version_of_another_field_merges(
        self, user_client: APIClient, user: User
    ) -> None:
        reminder = ReminderFactory.create(item=_timed_item(user), minutes_before=10)
        url = f"{URL}/{reminder.pk}"
        assert user_client.patch(url, {"minutes_before": 20, "version": 1}, format="json").status_code == 200
        stale = user_client.patch(url, {"minutes_before": 30}, format="json", HTTP_IF_MATCH='"1"')
        assert stale.status_code == 412
        conflict = user_client.patch(url, {"minutes_before": 30, "version": 1}, format="json")
        assert conflict.status_code == 409
        assert conflict.json()["conflicting_fields"] == ["minutes_before"]

    def test_changing_the_timing_after_it_fired_arms_it_again(
        self, user_client: APIClient, user: User
    ) -> None:
        with time_machine.travel("2026-07-01T07:00:00Z", tick=False):
            reminder = ReminderFactory.create(item=_timed_item(user), minutes_before=120)  # 07:00Z
            assert fire_batch() == 1
        reminder.refresh_from_db()
        assert reminder.fired_at is not None
        assert reminder.version == 2
        # A client that edited version 1 (before it fired) merges: fired_at is the server's, not a conflict.
        response = user_client.patch(
            f"{URL}/{reminder.pk}", {"minutes_before": 30, "version": 1}, format="json"
        )
        assert response.status_code == 200, response.json()
        assert response.json()["fired_at"] is None
        assert response.json()["fires_at"] == "2026-07-01T08:30:00.000000Z"
        assert response.json()["version"] == 3

    def test_a_patch_that_changes_nothing_keeps_the_version(self, user_client: APIClient, user: User) -> None:
        reminder = ReminderFactory.create(item=_timed_item(user), minutes_before=10)
        response = user_client.patch(
            f"{URL}/{reminder.pk}", {"minutes_before": 10, "version": 1}, format="json"
        )
        assert response.status_code == 200
        assert response.json()["version"] == 1

    def test_moving_to_an_item_without_a_due_time_is_refused_for_a_relative_one(
        self, user_client: APIClient, user: User
    ) -> None:
        reminder = ReminderFactory.create(item=_timed_item(user), minutes_before=10)
        undated = ItemFactory.create(list=ListFactory.create(user=user))
        response = user_client.patch(
            f"{URL}/{reminder.pk}", {"item": str(undated.pk), "version": 1}, format="json"
        )
        assert response.status_code == 400
        both = user_client.patch(
            f"{URL}/{reminder.pk}", {"minutes_before": None, "remind_at": None, "version": 1}, format="json"
        )
        assert both.status_code == 400

    def test_delete_needs_the_current_version(self, user_client: APIClient, user: User) -> None:
        reminder = ReminderFactory.create(item=_timed_item(user))
        assert user_client.delete(f"{URL}/{reminder.pk}").status_code == 428
        assert user_client.delete(f"{URL}/{reminder.pk}?version=2").status_code == 409
        assert user_client.delete(f"{URL}/{reminder.pk}", HTTP_IF_MATCH='"1"').status_code == 204
        assert not Reminder.objects.exists()


class TestList:
    def test_it_filters_by_item_and_rejects_a_bad_one(self, user_client: APIClient, user: User) -> None:
        first, second = _timed_item(user), _timed_item(user)
        ReminderFactory.create(item=first)
        ReminderFactory.create(item=second)
        response = user_client.get(f"{URL}?item={first.pk}")
        assert [r["item"] for r in response.json()["results"]] == [str(first.pk)]
        assert user_client.get(f"{URL}?item=nope").status_code == 400
        assert user_client.get(f"{URL}?ordering=remind_at").status_code == 400
        assert len(user_client.get(f"{URL}?ordering=-fires_at").json()["results"]) == 2

    @pytest.mark.parametrize("rows", [1, 30])
    def test_a_page_costs_the_same_queries_whatever_its_size(
        self, user_client: APIClient, user: User, rows: int
    ) -> None:
        item = _timed_item(user)
        for minutes in range(rows):
            ReminderFactory.create(item=item, minutes_before=minutes)
        with CaptureQueriesContext(connection) as queries:
            response = user_client.get(f"{URL}?limit=200")
        assert len(response.json()["results"]) == rows
        # 1 the user of the access token, 2 the page of reminders (personal: by owner, no spaces read).
        assert len(queries) == 2, [q["sql"] for q in queries.captured_queries]


class TestNotifications:
    def _make(self, user: User, n: int) -> list[Notification]:
        return [notification_create(user=user, kind="reminder", data={"title": f"n{i}"}) for i in range(n)]

    def test_newest_first_and_unread_filter(self, user_client: APIClient, user: User) -> None:
        first, second = self._make(user, 2)
        client_read = user_client.patch(f"{NOTIFICATIONS}/{first.pk}", {"read": True}, format="json")
        assert client_read.status_code == 200, client_read.json()
        assert client_read.json()["read_at"] is not None
        assert client_read.json()["version"] == 2
        listed = user_client.get(NOTIFICATIONS).json()["results"]
        assert [n["id"] for n in listed] == [str(second.pk), str(first.pk)]
        assert list(listed[0]) == ["id", "kind", "data", "read_at", "version", "created_at", "updated_at"]
        unread = user_client.get(f"{NOTIFICATIONS}?unread=true").json()["results"]
        assert [n["id"] for n in unread] == [str(second.pk)]
        read = user_client.get(f"{NOTIFICATIONS}?unread=false").json()["results"]
        assert [n["id"] for n in read] == [str(first.pk)]
        assert user_client.get(f"{NOTIFICATIONS}?unread=yes").status_code == 400

    def test_marking_read_twice_keeps_the_first_time_and_unread_clears_it(
        self, user_client: APIClient, user: User
    ) -> None:
        (notification,) = self._make(user, 1)
        url = f"{NOTIFICATIONS}/{notification.pk}"
        at = user_client.patch(url, {"read": True}, format="json").json()["read_at"]
        again = user_client.patch(url, {"read": True}, format="json").json()
        assert again["read_at"] == at
        assert again["version"] == 2
        unread = user_client.patch(url, {"read": False}, format="json").json()
        assert unread["read_at"] is None
        assert unread["version"] == 3
        assert user_client.patch(url, {"read": True}, format="json", HTTP_IF_MATCH='"1"').status_code == 412

    @pytest.mark.parametrize(
        "body", [{}, {"read": "yes"}, {"read": 1}, {"read": True, "kind": "x"}, {"read_at": None}]
    )
    def test_bad_bodies_are_400(self, user_client: APIClient, user: User, body: dict[str, Any]) -> None:
        (notification,) = self._make(user, 1)
        response = user_client.patch(f"{NOTIFICATIONS}/{notification.pk}", body, format="json")
        assert response.status_code == 400

    def test_read_all_marks_every_unread_one(
        self, user_client: APIClient, user: User, other_user: User
    ) -> None:
        self._make(user, 3)
        (theirs,) = self._make(other_user, 1)
        response = user_client.post(f"{NOTIFICATIONS}/read-all")
        assert response.status_code == 200
        assert response.json() == {"read": 3}
        assert user_client.post(f"{NOTIFICATIONS}/read-all").json() == {"read": 0}
        assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
        theirs.refresh_from_db()
        assert theirs.read_at is None

    def test_another_users_notification_is_a_404(self, user_client: APIClient, other_user: User) -> None:
        (theirs,) = self._make(other_user, 1)
        assert user_client.get(f"{NOTIFICATIONS}/{theirs.pk}").status_code == 404
        assert (
            user_client.patch(f"{NOTIFICATIONS}/{theirs.pk}", {"read": True}, format="json").status_code
            == 404
        )
        assert user_client.get(NOTIFICATIONS).json()["results"] == []

    def test_clients_cannot_create_or_delete_them(self, user_client: APIClient, user: User) -> None:
        (notification,) = self._make(user, 1)
        assert user_client.post(NOTIFICATIONS, {"kind": "reminder"}, format="json").status_code == 405
        assert user_client.delete(f"{NOTIFICATIONS}/{notification.pk}").status_code == 405

    @pytest.mark.parametrize("rows", [1, 30])
    def test_a_page_costs_the_same_queries_whatever_its_size(
        self, user_client: APIClient, user: User, rows: int
    ) -> None:
        self._make(user, rows)
        with CaptureQueriesContext(connection) as queries:
            response = user_client.get(f"{NOTIFICATIONS}?unread=true&limit=200")
        assert len(response.json()["results"]) == rows
        # 1 the user of the access token, 2 the page of notifications.
        assert len(queries) == 2, [q["sql"] for q in queries.captured_queries]


def test_timestamps_are_utc(user_client: APIClient, user: User) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    at = datetime(2026, 7, 1, 8, 0, tzinfo=UTC) + timedelta(microseconds=5)
    response = user_client.post(URL, {"item": str(item.pk), "remind_at": at.isoformat()}, format="json")
    assert response.json()["remind_at"] == "2026-07-01T08:00:00.000005Z"
