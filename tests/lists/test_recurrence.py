"""Recurring items through every writer (docs/api/recurrence.md): validation, the next occurrence made in the
completion's transaction by REST, push and import, its derived id, the series' end, two devices completing
the same occurrence offline, and the agenda."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from core.dates import local_today
from lists.models import Item
from sync.models import ChangeRecord
from tests.conftest import RACES, client_for
from tests.factories import ItemFactory, ListFactory
from tests.portability.helpers import exported
from tests.sync.helpers import op, push

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("before_the_fixed_dates")]

WEEKLY = {"rule": "FREQ=WEEKLY", "mode": "schedule"}


def _create(client: APIClient, user: User, **fields: Any) -> Any:
    a_list = ListFactory.create(user=user)
    body = {"list": str(a_list.pk), "title": "Bins", **fields}
    return client.post("/api/v1/items", body, format="json")


def _recurring(
    client: APIClient, user: User, due: str, rule: str, mode: str = "schedule", **more: Any
) -> Any:
    response = _create(client, user, due_date=due, recurrence={"rule": rule, "mode": mode}, **more)
    assert response.status_code == 201, response.content
    return response.json()


def _complete(client: APIClient, item: dict[str, Any]) -> Any:
    response = client.patch(
        f"/api/v1/items/{item['id']}", {"version": item["version"], "status": "done"}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def _next_id(series: str, due: str) -> str:
    return str(uuid.uuid5(uuid.UUID(series), due))


def _open_items(user: User) -> list[Item]:
    return list(Item.objects.filter(user=user, status="open").order_by("due_date"))


class TestValidation:
    def test_a_recurring_item_is_its_own_series(self, user_client: APIClient, user: User) -> None:
        body = _recurring(user_client, user, "2027-01-04", "rrule:freq=weekly;byday=mo")
        assert body["series"] == body["id"]
        assert body["recurrence"] == {"rule": "FREQ=WEEKLY;BYDAY=MO", "mode": "schedule"}

    def test_an_item_without_recurrence_has_no_series(self, user_client: APIClient, user: User) -> None:
        body = _create(user_client, user).json()
        assert (body["recurrence"], body["series"]) == (None, None)

    @pytest.mark.parametrize(
        "recurrence",
        [
            {"rule": "FREQ=HOURLY", "mode": "schedule"},
            {"rule": "FREQ=DAILY;BYHOUR=9", "mode": "schedule"},
            {"rule": "FREQ=DAILY;UNTIL=20270101T000000Z", "mode": "schedule"},
            {"rule": "FREQ=DAILY", "mode": "sometimes"},
            {"rule": "FREQ=DAILY"},
            {"rule": "FREQ=DAILY", "mode": "schedule", "dtstart": "2027-01-01"},
            {"rule": 7, "mode": "schedule"},
            "FREQ=DAILY",
        ],
    )
    def test_a_bad_recurrence_is_400_on_recurrence(
        self, user_client: APIClient, user: User, recurrence: Any
    ) -> None:
        response = _create(user_client, user, due_date="2027-01-04", recurrence=recurrence)
        assert response.status_code == 400, response.content
        assert "recurrence" in str(response.json()["errors"])
        assert not Item.objects.exists()

    @pytest.mark.parametrize(
        "rule", ["FREQ=DAILY;UNTIL=20200101", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=DAILY;COUNT=1"]
    )
    def test_a_rule_without_a_date_to_come_is_400(
        self, user_client: APIClient, user: User, rule: str
    ) -> None:
        response = _create(
            user_client, user, due_date="2020-01-01", recurrence={"rule": rule, "mode": "schedule"}
        )
        assert response.status_code == 400
        assert "recurrence" in response.json()["errors"]

    def test_a_recurring_item_needs_a_due_date(self, user_client: APIClient, user: User) -> None:
        response = _create(user_client, user, recurrence=WEEKLY)
        assert response.status_code == 400
        assert response.json()["errors"] == {"recurrence": ["A recurring item needs a due_date."]}

    def test_clearing_a_recurring_items_date_is_400_on_due_date(
        self, user_client: APIClient, user: User
    ) -> None:
        body = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY")
        response = user_client.patch(
            f"/api/v1/items/{body['id']}", {"version": 1, "due_date": None}, format="json"
        )
        assert response.status_code == 400
        assert "due_date" in response.json()["errors"]
        both = {"version": 1, "due_date": None, "recurrence": None}
        assert user_client.patch(f"/api/v1/items/{body['id']}", both, format="json").status_code == 200


class TestCompletion:
    def test_completing_makes_the_next_occurrence_with_the_derived_id(
        self, user_client: APIClient, user: User
    ) -> None:
        first = _recurring(
            user_client, user, "2027-01-31", "FREQ=MONTHLY", due_time="07:15", notes="n", priority=1
        )
        _complete(user_client, first)
        following = user_client.get(f"/api/v1/items/{_next_id(first['id'], '2027-03-31')}").json()
        copied = ("list", "title", "notes", "priority", "assignee", "due_time", "recurrence", "position")
        assert {k: following[k] for k in copied} == {k: first[k] for k in copied}
        assert (following["due_date"], following["status"], following["series"]) == (
            "2027-03-31",
            "open",
            first["id"],
        )
        assert following["created_by"] == str(user.pk)
        # In the completion's transaction: recorded in the same space, right after it.
        done, made = ChangeRecord.objects.filter(entity_id__in=[first["id"], following["id"]]).order_by(
            "-id"
        )[:2][::-1]
        assert (done.entity_id, done.version, made.entity_id, made.version) == (
            uuid.UUID(first["id"]),
            2,
            uuid.UUID(following["id"]),
            1,
        )
        assert made.number == done.number + 1
        assert made.space_id == done.space_id

    def test_a_put_completes_too(self, user_client: APIClient, user: User) -> None:
        first = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY")
        whole = {k: v for k, v in first.items() if k not in ("created_by", "completed_by", "series")}
        response = user_client.put(f"/api/v1/items/{first['id']}", {**whole, "status": "done"}, format="json")
        assert response.status_code == 200, response.content
        assert Item.objects.filter(pk=_next_id(first["id"], "2027-01-11")).exists()

    def test_later_occurrences_keep_the_series_and_copy_the_open_one_as_it_is(
        self, user_client: APIClient, user: User
    ) -> None:
        first = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY")
        _complete(user_client, first)
        second = user_client.get(f"/api/v1/items/{_next_id(first['id'], '2027-01-11')}").json()
        second = user_client.patch(
            f"/api/v1/items/{second['id']}", {"version": 1, "title": "Bins out"}, format="json"
        ).json()
        _complete(user_client, second)
        third = Item.objects.get(pk=_next_id(first["id"], "2027-01-18"))
        assert (third.title, str(third.series), third.series_index) == ("Bins out", first["id"], 3)

    def test_count_ends_the_series(self, user_client: APIClient, user: User) -> None:
        item = _recurring(user_client, user, "2027-01-04", "FREQ=DAILY;COUNT=2")
        _complete(user_client, item)
        second = user_client.get(f"/api/v1/items/{_next_id(item['id'], '2027-01-05')}").json()
        _complete(user_client, second)
        assert Item.objects.filter(user=user).count() == 2
        assert not _open_items(user)

    def test_until_ends_the_series(self, user_client: APIClient, user: User) -> None:
        item = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY;UNTIL=20270110")
        _complete(user_client, item)
        assert not _open_items(user)

    def test_reopening_leaves_the_next_alone_and_completing_again_makes_nothing(
        self, user_client: APIClient, user: User
    ) -> None:
        item = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY")
        done = _complete(user_client, item)
        reopened = user_client.patch(
            f"/api/v1/items/{item['id']}", {"version": done["version"], "status": "open"}, format="json"
        ).json()
        assert Item.objects.filter(pk=_next_id(item["id"], "2027-01-11"), version=1).exists()
        _complete(user_client, reopened)
        assert Item.objects.filter(user=user).count() == 2

    def test_deleting_an_occurrence_ends_the_series_and_the_done_ones_stay(
        self, user_client: APIClient, user: User
    ) -> None:
        item = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY")
        done = _complete(user_client, item)
        following = _next_id(item["id"], "2027-01-11")
        assert user_client.delete(f"/api/v1/items/{following}?version=1").status_code == 204
        reopened = user_client.patch(
            f"/api/v1/items/{item['id']}", {"version": done["version"], "status": "open"}, format="json"
        ).json()
        _complete(user_client, reopened)
        assert list(Item.objects.filter(user=user).values_list("pk", "status")) == [
            (uuid.UUID(item["id"]), "done")
        ]

    def test_an_item_created_done_makes_no_next_occurrence(self, user_client: APIClient, user: User) -> None:
        _create(user_client, user, due_date="2027-01-04", recurrence=WEEKLY, status="done")
        assert Item.objects.filter(user=user).count() == 1

    def test_an_overdue_occurrence_completed_late_skips_to_today_in_the_users_zone(
        self, user_client: APIClient, user: User
    ) -> None:
        user.timezone = "Pacific/Kiritimati"  # UTC+14: its today is often the UTC tomorrow
        user.save(update_fields=["timezone"])
        item = _recurring(user_client, user, "2026-01-01", "FREQ=DAILY")
        _complete(user_client, item)
        today = local_today(user)
        assert [i.due_date for i in _open_items(user)] == [today]
        assert (
            Item.objects.get(pk=_next_id(item["id"], today.isoformat())).series_index
            == 1 + (today - date(2026, 1, 1)).days
        )

    def test_after_completion_counts_from_the_day_of_completion(
        self, user_client: APIClient, user: User
    ) -> None:
        item = _recurring(user_client, user, "2026-01-01", "FREQ=DAILY;INTERVAL=3", mode="after_completion")
        _complete(user_client, item)
        assert [i.due_date for i in _open_items(user)] == [local_today(user) + timedelta(days=3)]

    @pytest.mark.parametrize(
        ("due", "rule", "expected"),
        [
            ("2027-01-31", "FREQ=MONTHLY;BYMONTHDAY=31", "2027-03-31"),  # the 31st skips February
            ("2027-01-31", "FREQ=MONTHLY", "2027-03-31"),  # and so does a monthly rule begun on the 31st
            ("2028-02-29", "FREQ=YEARLY", "2032-02-29"),
            ("2027-01-29", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "2027-02-26"),
            ("2027-03-27", "FREQ=DAILY", "2027-03-28"),  # Europe's spring change
            ("2027-10-30", "FREQ=DAILY", "2027-10-31"),  # and its autumn one
        ],
    )
    def test_edge_dates_through_the_api_on_daylight_saving_days_too(
        self, user_client: APIClient, user: User, due: str, rule: str, expected: str
    ) -> None:
        user.timezone = "Europe/Berlin"
        user.save(update_fields=["timezone"])
        item = _recurring(user_client, user, due, rule, due_time="09:00")
        _complete(user_client, item)
        following = user_client.get(f"/api/v1/items/{_next_id(item['id'], expected)}").json()
        assert (following["due_date"], following["due_time"]) == (expected, "09:00")


class TestOtherWriters:
    def test_a_pushed_completion_makes_the_next_occurrence(self, user_client: APIClient, user: User) -> None:
        item = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY")
        result = push(user_client, [op("update", "item", item["id"], 1, status="done")]).json()
        assert result["results"][0]["status"] == "applied"
        following = _next_id(item["id"], "2027-01-11")
        assert any(c["id"] == following for c in result["changes"])

    def test_an_import_that_completes_an_occurrence_makes_the_next_one(
        self, user_client: APIClient, user: User
    ) -> None:
        item = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY")
        document = exported(user_client)
        document["items"][0].update(status="done", updated_at="2099-01-01T00:00:00Z")
        response = user_client.post(
            "/api/v1/user/import", {"document": document, "mode": "merge"}, format="json"
        )
        assert response.status_code == 200, response.content
        assert Item.objects.filter(pk=_next_id(item["id"], "2027-01-11"), status="open").exists()

    def test_an_import_holding_the_next_occurrence_too_writes_it_once(
        self, user_client: APIClient, user: User, other_user: User
    ) -> None:
        # The document of another device: the occurrence done, the next made there and edited since.
        item = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY")
        done = _complete(user_client, item)
        following = _next_id(item["id"], "2027-01-11")
        user_client.patch(f"/api/v1/items/{following}", {"version": 1, "title": "Edited"}, format="json")
        document = exported(user_client)
        user_client.patch(
            f"/api/v1/items/{item['id']}", {"version": done["version"], "status": "open"}, format="json"
        )
        user_client.delete(f"/api/v1/items/{following}?version=2")
        ChangeRecord.objects.filter(entity_id=following, deleted=True).delete()  # as after the retention
        for row in document["items"]:
            row["updated_at"] = "2099-01-01T00:00:00Z"
        response = user_client.post(
            "/api/v1/user/import", {"document": document, "mode": "merge"}, format="json"
        )
        assert response.status_code == 200, response.content
        assert list(Item.objects.filter(user=user, status="open").values_list("pk", "title")) == [
            (uuid.UUID(following), "Edited")
        ]


def _device_ops(item: dict[str, Any], device: str) -> list[dict[str, Any]]:
    """A device that completed the occurrence offline and made the next one itself, as a client may."""
    following = _next_id(item["id"], "2027-01-11")
    made = {
        "list": item["list"],
        "title": item["title"],
        "due_date": "2027-01-11",
        "recurrence": item["recurrence"],
    }
    return [
        op(
            "update",
            "item",
            item["id"],
            1,
            status="done",
            completed_at=f"2026-11-2{'8' if device == 'a' else '9'}T08:00:00Z",
        ),
        op("create", "item", following, **made),
    ]


class TestTwoDevices:
    def test_two_devices_completing_offline_make_one_next_occurrence(
        self, user_client: APIClient, user: User
    ) -> None:
        item = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY")
        first = push(user_client, [op("update", "item", item["id"], 1, status="done")]).json()
        second = push(user_client, [op("update", "item", item["id"], 1, status="done")]).json()
        assert first["results"][0]["status"] == "applied"
        assert second["results"][0]["status"] in ("applied", "merged")
        assert [str(i.pk) for i in _open_items(user)] == [_next_id(item["id"], "2027-01-11")]

    def test_devices_that_made_the_next_occurrence_themselves_make_one(
        self, user_client: APIClient, user: User
    ) -> None:
        item = _recurring(user_client, user, "2027-01-04", "FREQ=WEEKLY")
        results = [push(user_client, _device_ops(item, device)).json()["results"] for device in "ab"]
        assert [r["status"] for r in results[0]] == ["applied", "applied"]
        assert results[1][1]["status"] == "applied"  # the same create again: the existing one
        assert [str(i.pk) for i in _open_items(user)] == [_next_id(item["id"], "2027-01-11")]

    @pytest.mark.postgres
    @RACES
    @pytest.mark.django_db(transaction=True)
    def test_two_devices_pushing_at_once_make_one_next_occurrence(self, user: User) -> None:
        item = _recurring(client_for(user), user, "2027-01-04", "FREQ=WEEKLY")
        barrier = threading.Barrier(2)
        answers: list[Any] = []

        def device(name: str) -> None:
            client = client_for(user)
            barrier.wait()
            answers.append(push(client, _device_ops(item, name)).json())
            connection.close()

        threads = [threading.Thread(target=device, args=(name,)) for name in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 2
        assert Item.objects.filter(user=user).count() == 2
        assert [str(i.pk) for i in _open_items(user)] == [_next_id(item["id"], "2027-01-11")]


class TestAgenda:
    def test_it_answers_open_items_due_in_the_range_and_projected_occurrences(
        self, user_client: APIClient, user: User, other_user: User
    ) -> None:
        today = local_today(user)
        a_list = ListFactory.create(user=user)
        plain = ItemFactory.create(list=a_list, due_date=today + timedelta(days=2))
        ItemFactory.create(list=a_list, due_date=today + timedelta(days=30))  # outside
        ItemFactory.create(list=a_list, due_date=today, status="done")  # done
        ItemFactory.create(list=ListFactory.create(user=other_user), due_date=today)  # not theirs
        weekly = ItemFactory.create(list=a_list, due_date=today - timedelta(days=1), recurrence=WEEKLY)
        with CaptureQueriesContext(connection) as queries:
            response = user_client.get("/api/v1/agenda")
        assert response.status_code == 200
        # The user (authentication), the spaces they see, the items: nothing per item or per projection.
        assert len(queries) == 3, [q["sql"] for q in queries]
        entries = response.json()["results"]
        following = str(uuid.uuid5(weekly.pk, (today + timedelta(days=6)).isoformat()))
        assert [(e["id"], e["projected"]) for e in entries] == [(str(plain.pk), False), (following, True)]
        projected = entries[1]
        assert (projected["version"], projected["series"], projected["status"]) == (
            None,
            str(weekly.pk),
            "open",
        )

    def test_a_range_holds_every_projection_of_a_daily_item(self, user_client: APIClient, user: User) -> None:
        item = _recurring(user_client, user, "2027-01-01", "FREQ=DAILY;COUNT=40")
        entries = user_client.get("/api/v1/agenda", {"from": "2027-01-01", "to": "2027-04-02"}).json()[
            "results"
        ]
        assert len(entries) == 40
        assert entries[0]["id"] == item["id"]
        assert not entries[0]["projected"]
        assert entries[-1]["id"] == _next_id(item["id"], "2027-02-09")

    @pytest.mark.parametrize(
        "params",
        [
            {"from": "2027-01-01", "to": "2027-04-03"},
            {"from": "2027-01-02", "to": "2027-01-01"},
            {"from": "x"},
        ],
    )
    def test_a_bad_range_is_400(self, user_client: APIClient, params: dict[str, str]) -> None:
        response = user_client.get("/api/v1/agenda", params)
        assert response.status_code == 400

    def test_it_needs_credentials(self, api_client: APIClient) -> None:
        assert api_client.get("/api/v1/agenda").status_code == 401


class TestCounting:
    def test_insights_and_focus_count_each_completion_once(self, user_client: APIClient, user: User) -> None:
        item = _recurring(
            user_client, user, local_today(user).isoformat(), "FREQ=DAILY", mode="after_completion"
        )
        card = user_client.put("/api/v1/focus-card", {"items": [item["id"]]}, format="json")
        assert card.status_code in (200, 201), card.content
        for _ in range(3):
            current = user_client.get(f"/api/v1/items/{_open_items(user)[0].pk}").json()
            _complete(user_client, current)
        insights = user_client.get("/api/v1/user/insights").json()
        assert insights["items"]["completed"] == 3
        assert sum(day["count"] for day in insights["items"]["completed_by_day"]) == 3
        card = user_client.get("/api/v1/focus-card").json()
        assert (len(card["items"]), card["done_count"]) == (1, 1)
        generated = user_client.post(
            "/api/v1/focus-card/generate", {"regenerate": True}, format="json"
        ).json()
        assert generated["done_count"] == 1
        assert len(_open_items(user)) == 1
