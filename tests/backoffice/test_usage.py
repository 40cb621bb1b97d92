"""Usage counting: each API request counts its user as active today and pulls and pushes as such, in
memory; a flush writes one row per user-day and one upsert per counter; the rollup turns them into
daily, weekly and monthly active users."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from backoffice.models import ActiveDay, DailyRollup, UsageCount
from backoffice.rollups import ACTIVE_DAY_RETENTION_DAYS, rollup
from backoffice.usage import BUFFER, UsageBuffer, flush
from tests.conftest import client_for
from tests.factories import UserFactory

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.mark.usefixtures("far_from_midnight")
def test_api_requests_count_their_user_and_the_sync_pulls_and_pushes(db: Any) -> None:
    user, other = UserFactory.create(), UserFactory.create()
    client = client_for(user)
    for _ in range(3):
        assert client.get("/api/v1/sync").status_code == 200
    assert client.post("/api/v1/sync", {"operations": []}, format="json").status_code == 200
    assert client_for(other).get("/api/v1/lists").status_code == 200
    assert APIClient().get("/api/v1/lists").status_code == 401  # counted as a request, nobody's

    flush()

    today = datetime.now(UTC).date()
    assert set(ActiveDay.objects.filter(day=today).values_list("user_id", flat=True)) == {user.pk, other.pk}
    counts = dict(UsageCount.objects.filter(day=today).values_list("name", "count"))
    assert counts == {"sync_pulls": 3, "sync_pushes": 1, "api_requests": 6}


def test_a_request_adds_no_query_and_a_flush_one_statement_per_counter(db: Any) -> None:
    user = UserFactory.create()
    client = client_for(user)
    client.get("/api/v1/lists")
    with CaptureQueriesContext(connection) as counted:
        client.get("/api/v1/lists")
    with CaptureQueriesContext(connection) as plain:
        client.get("/api/v1/lists")
    assert len(counted) == len(plain)
    assert not any("backoffice" in q["sql"] for q in counted.captured_queries)


def test_a_user_is_written_once_a_day_however_often_flushed(db: Any) -> None:
    user = UserFactory.create()
    buffer = UsageBuffer()
    for _ in range(3):
        buffer.record(day=TODAY, user_id=str(user.pk), counters=("api_requests",))
        flush(buffer)
    assert ActiveDay.objects.filter(day=TODAY, user_id=user.pk).count() == 1
    assert UsageCount.objects.get(day=TODAY, name="api_requests").count == 3
    # Already written by this process today: not sent again.
    buffer.record(day=TODAY, user_id=str(user.pk), counters=())
    assert buffer.take()[0] == {}


def test_counts_of_a_failed_flush_wait_for_the_next(db: Any, monkeypatch: Any) -> None:
    buffer = UsageBuffer()
    buffer.record(day=TODAY, user_id=None, counters=("sync_pulls",))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr("backoffice.usage._add", broken)
    assert flush(buffer) == 0
    monkeypatch.undo()
    flush(buffer)
    assert UsageCount.objects.get(day=TODAY, name="sync_pulls").count == 1


def _active(day: date, *users: Any) -> None:
    ActiveDay.objects.bulk_create([ActiveDay(day=day, user_id=u.pk) for u in users])


def test_the_rollup_counts_daily_weekly_and_monthly_active_users(db: Any) -> None:
    a, b, c, d = (UserFactory.create() for _ in range(4))
    _active(TODAY, a, b)
    _active(TODAY - timedelta(days=1), a)
    _active(TODAY - timedelta(days=6), c)  # in this week
    _active(TODAY - timedelta(days=7), d)  # last week, this month
    _active(TODAY - timedelta(days=30), d, c)  # outside the month
    UsageCount.objects.create(day=TODAY, name="sync_pulls", count=12)
    UsageCount.objects.create(day=TODAY, name="sync_pushes", count=5)

    assert rollup(now=NOW) == 2
    today = DailyRollup.objects.get(day=TODAY)
    assert (today.active_users, today.weekly_active_users, today.monthly_active_users) == (2, 3, 4)
    assert (today.sync_pulls, today.sync_pushes) == (12, 5)
    yesterday = DailyRollup.objects.get(day=TODAY - timedelta(days=1))
    assert yesterday.active_users == 1
    assert (yesterday.weekly_active_users, yesterday.monthly_active_users) == (3, 3)

    # Idempotent: the same numbers again, no second row.
    rollup(now=NOW)
    assert DailyRollup.objects.count() == 2
    assert DailyRollup.objects.get(day=TODAY).monthly_active_users == 4


def test_the_rollup_prunes_activity_older_than_its_window(db: Any) -> None:
    user = UserFactory.create()
    _active(TODAY - timedelta(days=ACTIVE_DAY_RETENTION_DAYS + 1), user)
    _active(TODAY - timedelta(days=ACTIVE_DAY_RETENTION_DAYS), user)
    rollup(now=NOW)
    assert list(ActiveDay.objects.values_list("day", flat=True)) == [
        TODAY - timedelta(days=ACTIVE_DAY_RETENTION_DAYS)
    ]


def test_the_global_buffer_is_what_the_middleware_fills(db: Any) -> None:
    user = UserFactory.create()
    client_for(user).get("/api/v1/lists")
    active, counts = BUFFER.take()
    assert str(user.pk) in next(iter(active.values()))
    assert sum(counts.values()) == 1
