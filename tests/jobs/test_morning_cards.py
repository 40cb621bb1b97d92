"""Morning focus cards: at the user's local focus_time, once per user and local day, through daylight-saving
changes and time zone changes; only due users are read."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.profile_services import profile_for, profile_update
from core.versioning import ANY_VERSION
from focus import morning
from focus.models import FocusCard, MorningCardSchedule
from jobs.tasks import run_queued_tasks
from tests.factories import FocusCardFactory, ItemFactory, ListFactory, UserFactory

NEW_YORK = ZoneInfo("America/New_York")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _set(user: User, **data: Any) -> None:
    preferences = {k: data.pop(k) for k in list(data) if k.startswith("focus")}
    profile_update(user=user, base=ANY_VERSION, data={**data, "preferences": preferences})


def _minute(at: str) -> int:
    """One run of the every-minute job at `at` (UTC), and the tasks it enqueued; the cards it created."""
    with time_machine.travel(_utc(at), tick=False):
        morning.lease_due(timezone.now())
        before = FocusCard.objects.count()
        run_queued_tasks()
        return FocusCard.objects.count() - before


def _cards(user: User) -> list[date]:
    return list(FocusCard.objects.filter(user=user).order_by("date").values_list("date", flat=True))


@pytest.fixture
def new_yorker(db: Any) -> User:
    user = UserFactory.create(timezone="America/New_York")
    ItemFactory.create(user=user, list=ListFactory.create(user=user))
    profile_for(user)
    return user


# --- the instant of a local time ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "at", "expected"),
    [
        (date(2026, 1, 15), time(7, 0), "2026-01-15T12:00:00"),
        (date(2026, 7, 15), time(7, 0), "2026-07-15T11:00:00"),
        # Spring forward (02:00 -> 03:00): 02:30 does not exist; the first instant after is 03:00 EDT.
        (date(2026, 3, 8), time(2, 30), "2026-03-08T07:00:00"),
        (date(2026, 3, 8), time(2, 0), "2026-03-08T07:00:00"),
        (date(2026, 3, 8), time(3, 0), "2026-03-08T07:00:00"),
        # Fall back (02:00 -> 01:00): 01:30 happens twice; the first one counts.
        (date(2026, 11, 1), time(1, 30), "2026-11-01T05:30:00"),
    ],
)
def test_the_focus_instant_of_a_local_time(day: date, at: time, expected: str) -> None:
    assert morning.focus_instant(day, at, NEW_YORK) == _utc(expected)


# --- the job --------------------------------------------------------------------------------------------
def test_the_card_is_made_at_the_local_focus_time_once_a_day(new_yorker: User) -> None:
    with time_machine.travel(_utc("2026-01-14T20:00:00"), tick=False):
        _set(new_yorker, focus_auto_generate=True, focus_time="07:30")

    assert _minute("2026-01-15T12:29:00") == 0
    assert _minute("2026-01-15T12:30:00") == 1
    assert _minute("2026-01-15T12:31:00") == 0
    assert _minute("2026-01-15T20:00:00") == 0
    assert _minute("2026-01-16T12:30:10") == 1
    assert _cards(new_yorker) == [date(2026, 1, 15), date(2026, 1, 16)]
    assert FocusCard.objects.get(user=new_yorker, date=date(2026, 1, 15)).source == "generated"


def test_a_focus_time_skipped_by_spring_forward_fires_at_the_first_instant_after(new_yorker: User) -> None:
    with time_machine.travel(_utc("2026-03-07T12:00:00"), tick=False):
        _set(new_yorker, focus_auto_generate=True, focus_time="02:30")

    assert _minute("2026-03-08T06:59:00") == 0  # 01:59 EST
    assert _minute("2026-03-08T07:00:00") == 1  # 03:00 EDT
    assert _minute("2026-03-08T07:30:00") == 0  # 03:30 EDT: 02:30 EST read naively
    assert _minute("2026-03-09T06:30:00") == 1  # 02:30 EDT the day after
    assert _cards(new_yorker) == [date(2026, 3, 8), date(2026, 3, 9)]


def test_a_focus_time_repeated_by_fall_back_fires_once(new_yorker: User) -> None:
    with time_machine.travel(_utc("2026-10-31T12:00:00"), tick=False):
        _set(new_yorker, focus_auto_generate=True, focus_time="01:30")

    assert _minute("2026-11-01T05:30:00") == 1  # 01:30 EDT
    assert _minute("2026-11-01T06:30:00") == 0  # 01:30 EST, the same wall time again
    assert _minute("2026-11-02T06:30:00") == 1
    assert _cards(new_yorker) == [date(2026, 11, 1), date(2026, 11, 2)]


def test_moving_west_after_the_card_does_not_make_a_second_one_that_day(db: Any) -> None:
    user = UserFactory.create(timezone="Europe/Berlin")
    with time_machine.travel(_utc("2026-01-14T20:00:00"), tick=False):
        _set(user, focus_auto_generate=True, focus_time="07:00")
    assert _minute("2026-01-15T06:00:00") == 1  # 07:00 in Berlin

    with time_machine.travel(_utc("2026-01-15T08:00:00"), tick=False):  # 03:00 in New York, same date
        _set(user, timezone="America/New_York")

    assert _minute("2026-01-15T12:00:00") == 0  # 07:00 in New York: the 15th has its card
    assert _minute("2026-01-16T12:00:00") == 1
    assert _cards(user) == [date(2026, 1, 15), date(2026, 1, 16)]


def test_moving_east_into_a_day_past_its_focus_time_makes_that_days_card_at_once(new_yorker: User) -> None:
    with time_machine.travel(_utc("2026-01-14T20:00:00"), tick=False):
        _set(new_yorker, focus_auto_generate=True, focus_time="07:00")
    assert _minute("2026-01-15T12:00:00") == 1  # the 15th in New York

    with time_machine.travel(_utc("2026-01-15T23:30:00"), tick=False):  # 08:30 on the 16th in Tokyo
        _set(new_yorker, timezone="Asia/Tokyo")

    assert _minute("2026-01-15T23:31:00") == 1
    assert _minute("2026-01-16T22:00:00") == 1  # 07:00 on the 17th in Tokyo
    assert _cards(new_yorker) == [date(2026, 1, 15), date(2026, 1, 16), date(2026, 1, 17)]


def test_turning_it_off_stops_the_cards_and_a_manual_card_is_kept(new_yorker: User) -> None:
    with time_machine.travel(_utc("2026-01-14T20:00:00"), tick=False):
        _set(new_yorker, focus_auto_generate=True, focus_time="07:00")
        FocusCardFactory.create(user=new_yorker, date=date(2026, 1, 15))
    assert _minute("2026-01-15T12:00:00") == 0  # the day already has the user's own card
    with time_machine.travel(_utc("2026-01-15T13:00:00"), tick=False):
        _set(new_yorker, focus_auto_generate=False)

    assert _minute("2026-01-16T12:00:00") == 0
    assert not MorningCardSchedule.objects.filter(user=new_yorker).exists()
    assert FocusCard.objects.get(user=new_yorker).source == "manual"


def test_a_deactivated_user_gets_no_card(new_yorker: User) -> None:
    with time_machine.travel(_utc("2026-01-14T20:00:00"), tick=False):
        _set(new_yorker, focus_auto_generate=True, focus_time="07:00")
    User.objects.filter(pk=new_yorker.pk).update(is_active=False)

    assert _minute("2026-01-15T12:00:00") == 0
    assert not MorningCardSchedule.objects.filter(user=new_yorker).exists()


def test_a_lease_whose_task_never_ran_is_due_again(new_yorker: User) -> None:
    with time_machine.travel(_utc("2026-01-14T20:00:00"), tick=False):
        _set(new_yorker, focus_auto_generate=True, focus_time="07:00")
    with time_machine.travel(_utc("2026-01-15T12:00:00"), tick=False):
        morning.lease_due(timezone.now())
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()  # the worker that held it died with it

    assert _minute("2026-01-15T12:05:00") == 0  # still leased
    assert _minute("2026-01-15T12:11:00") == 1
    assert _cards(new_yorker) == [date(2026, 1, 15)]


def test_the_job_reads_only_the_due_users(db: Any) -> None:
    with time_machine.travel(_utc("2026-01-15T11:00:00"), tick=False):
        for n in range(30):
            user = UserFactory.create(timezone="America/New_York" if n < 3 else "Pacific/Honolulu")
            _set(user, focus_auto_generate=True, focus_time="07:00")

    with (
        time_machine.travel(_utc("2026-01-15T12:00:00"), tick=False),
        CaptureQueriesContext(connection) as run,
    ):
        leased = morning.lease_due(timezone.now())

    assert leased == 3
    # The due rows by the next_at index, their lease, the task row; the empty next batch.
    assert len(run.captured_queries) == 4, [q["sql"] for q in run.captured_queries]


def test_the_manual_command_still_makes_todays_cards(new_yorker: User) -> None:
    from django.core.management import call_command

    with time_machine.travel(_utc("2026-01-15T15:00:00"), tick=False):
        _set(new_yorker, focus_auto_generate=True)
        MorningCardSchedule.objects.all().delete()
        call_command("generate_focus_cards", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert _cards(new_yorker) == [date(2026, 1, 15)]
