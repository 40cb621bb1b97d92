"""calendars.ics: the events we write, read back by icalendar and by the strict checker, and compared with
the events icalendar itself builds for the same items."""

from __future__ import annotations

import importlib
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event, vRecur

from calendars import ics
from tests.calendars import rfc5545

STAMP = datetime(2026, 11, 30, 12, 0, 5, tzinfo=UTC)


def entry(**fields: Any) -> ics.Entry:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "title": "Water the plants",
        "notes": "",
        "due_date": date(2026, 12, 3),
        "due_time": None,
        "version": 4,
        "created_at": STAMP - timedelta(days=2),
        "updated_at": STAMP,
        **fields,
    }
    return ics.Entry(**values)


def render(*entries: ics.Entry, tz: str = "UTC") -> tuple[bytes, Any]:
    body = ics.render(name="Daymark", timezone_name=tz, entries=entries)
    rfc5545.parse(body)
    parsed = Calendar.from_ical(body)
    assert [c.errors for c in parsed.walk() if c.errors] == []
    return body, parsed


# No stubs of dateutil are pinned: read it untyped.
rrulestr = importlib.import_module("dateutil.rrule").rrulestr


def only_event(parsed: Calendar) -> Any:
    (event,) = parsed.walk("VEVENT")
    return event


class TestTimes:
    def test_a_due_time_is_thirty_minutes_at_that_local_time_with_its_zone(self) -> None:
        body, parsed = render(entry(due_time=time(9, 30)), tz="Europe/Berlin")
        event = only_event(parsed)
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert start == datetime(2026, 12, 3, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
        assert str(start.tzinfo) == "Europe/Berlin"
        assert end - start == timedelta(minutes=30)
        assert b"DTSTART;TZID=Europe/Berlin:20261203T093000\r\n" in body
        (zone,) = parsed.walk("VTIMEZONE")
        assert str(zone["TZID"]) == "Europe/Berlin"

    def test_utc_users_get_utc_times_and_no_vtimezone(self) -> None:
        body, parsed = render(entry(due_time=time(23, 45)), tz="UTC")
        event = only_event(parsed)
        assert event.decoded("DTSTART") == datetime(2026, 12, 3, 23, 45, tzinfo=UTC)
        assert event.decoded("DTEND") == datetime(2026, 12, 4, 0, 15, tzinfo=UTC)
        assert parsed.walk("VTIMEZONE") == []
        assert b"TZID" not in body

    def test_all_day_items_need_no_vtimezone(self) -> None:
        _, parsed = render(entry(), tz="America/New_York")
        assert parsed.walk("VTIMEZONE") == []

    def test_across_a_daylight_saving_change_the_event_lasts_thirty_minutes(self) -> None:
        # Europe/Berlin springs forward at 02:00 on 2027-03-28: 01:45 + 30 minutes is 03:15 local.
        _, parsed = render(entry(due_date=date(2027, 3, 28), due_time=time(1, 45)), tz="Europe/Berlin")
        event = only_event(parsed)
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(minutes=30)
        assert (end.hour, end.minute) == (3, 15)

    def test_one_vtimezone_serves_every_timed_event(self) -> None:
        entries = [entry(due_time=time(8, n)) for n in range(5)] + [entry()]
        _, parsed = render(*entries, tz="Asia/Kolkata")
        assert len(parsed.walk("VTIMEZONE")) == 1
        assert len(parsed.walk("VEVENT")) == 6


class TestRecurrence:
    def test_a_rule_is_written_as_the_items_rrule(self) -> None:
        recurrence = ics.Recurrence(rule="FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE")
        _, parsed = render(entry(recurrence=recurrence))
        rule = only_event(parsed)["RRULE"]
        assert (rule["FREQ"], rule["INTERVAL"], rule["BYDAY"]) == (["WEEKLY"], [2], ["MO", "WE"])

    def test_count_is_what_is_left_of_the_series(self) -> None:
        # The third occurrence of five: this one and two more.
        _, parsed = render(entry(recurrence=ics.Recurrence(rule="FREQ=DAILY;COUNT=5", index=3)))
        assert only_event(parsed)["RRULE"]["COUNT"] == [3]

    def test_a_last_occurrence_has_no_rule(self) -> None:
        _, parsed = render(entry(recurrence=ics.Recurrence(rule="FREQ=DAILY;COUNT=5", index=5)))
        assert only_event(parsed)["RRULE"]["COUNT"] == [1]
        _, beyond = render(entry(recurrence=ics.Recurrence(rule="FREQ=DAILY;COUNT=5", index=6)))
        assert "RRULE" not in only_event(beyond)

    def test_until_stays_a_date_for_an_all_day_event(self) -> None:
        body, parsed = render(entry(recurrence=ics.Recurrence(rule="FREQ=DAILY;UNTIL=20261231")))
        assert only_event(parsed)["RRULE"]["UNTIL"] == [date(2026, 12, 31)]
        assert b"UNTIL=20261231;" in body or b"UNTIL=20261231\r\n" in body

    def test_until_is_the_end_of_that_local_day_in_utc_for_a_timed_event(self) -> None:
        recurrence = ics.Recurrence(rule="FREQ=DAILY;UNTIL=20261231")
        _, parsed = render(entry(due_time=time(9), recurrence=recurrence), tz="America/New_York")
        (until,) = only_event(parsed)["RRULE"]["UNTIL"]
        assert until == datetime(2027, 1, 1, 4, 59, 59, tzinfo=UTC)  # 23:59:59 EST

    def test_the_occurrences_a_calendar_app_would_show(self) -> None:
        """Expanded by dateutil from what we wrote, as a calendar app would: the open occurrence first."""
        recurrence = ics.Recurrence(rule="FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", index=2)
        _, parsed = render(entry(due_date=date(2026, 12, 25), recurrence=recurrence))
        event = only_event(parsed)
        rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=datetime(2026, 12, 25))
        assert [d.date() for d in rule] == [date(2026, 12, 25), date(2027, 1, 29), date(2027, 2, 26)]

    @pytest.mark.parametrize("rule", ["FREQ=SOMETIMES;;", "garbage", "FREQ=DAILY;COUNT=x"])
    def test_an_unreadable_rule_is_left_out_rather_than_breaking_the_feed(self, rule: str) -> None:
        _, parsed = render(entry(recurrence=ics.Recurrence(rule=rule)))
        assert "RRULE" not in only_event(parsed)


class TestFolding:
    @pytest.mark.parametrize("title", ["a" * 300, "é" * 200, "☕" * 150, "\\," * 100, "x" + "日本" * 90])
    def test_lines_fold_at_75_octets_without_splitting_characters_or_escapes(self, title: str) -> None:
        body, parsed = render(entry(title=title))
        for line in body.split(b"\r\n"):
            assert len(line) <= 75
            line.decode()  # never a split UTF-8 character
        assert str(only_event(parsed)["SUMMARY"]) == title
        for line in body.split(b"\r\n"):
            # An escape is never split: no line ends with a backslash that escapes the next character.
            assert (len(line) - len(line.rstrip(b"\\"))) % 2 == 0

    def test_a_line_of_exactly_75_octets_stays_whole(self) -> None:
        line = "SUMMARY:" + "a" * 67
        assert ics.fold(line) == line
        assert ics.fold(line + "a") == line + "\r\n a"


def _icalendar_event(item: ics.Entry, tz: str) -> Event:
    """The event icalendar builds for an item with its own API: what ours must equal."""
    event = Event()
    event.add("uid", str(item.id))
    event.add("dtstamp", item.updated_at)
    event.add("created", item.created_at)
    event.add("last-modified", item.updated_at)
    event.add("sequence", item.version)
    event.add("summary", item.title)
    if item.notes:
        event.add("description", item.notes)
    if item.due_time is None:
        event.add("dtstart", item.due_date)
        event.add("dtend", item.due_date + timedelta(days=1))
    else:
        start = datetime.combine(item.due_date, item.due_time, ZoneInfo(tz))
        event.add("dtstart", start)
        event.add("dtend", (start.astimezone(UTC) + timedelta(minutes=30)).astimezone(ZoneInfo(tz)))
    if item.recurrence is not None:
        event.add("rrule", vRecur.from_ical(item.recurrence.rule))
    event.add("transp", "TRANSPARENT")
    return event


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "Pacific/Chatham"])
def test_each_event_equals_the_one_icalendar_builds(tz: str) -> None:
    items = [
        entry(),
        entry(title="Call Ana, then Bo; done", notes="Ring twice\nthen wait", due_time=time(7, 15)),
        entry(
            due_date=date(2027, 6, 30),
            due_time=time(18),
            recurrence=ics.Recurrence(rule="FREQ=WEEKLY;BYDAY=WE"),
        ),
        entry(title="ünïcödé " * 20, recurrence=ics.Recurrence(rule="FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=30")),
    ]
    _, parsed = render(*items, tz=tz)
    ours = {str(event["UID"]): event for event in parsed.walk("VEVENT")}
    for item in items:
        theirs = Calendar.from_ical(_icalendar_event(item, tz).to_ical())
        for name, _value in theirs.property_items(recursive=False, sorted=False):
            if name in ("BEGIN", "END"):
                continue
            assert ours[str(item.id)].decoded(name) == theirs.decoded(name), name
        assert set(ours[str(item.id)]) == set(theirs)


def test_folding_round_trips_any_text() -> None:
    """Seeded random lines of ASCII, escapes and multi-octet characters: every physical line at most 75
    octets, whole UTF-8 characters, no escape split, and unfolding gives the line back."""
    generator = random.Random(5545)
    alphabet = ["a", "b", " ", "\\\\", "\\,", "\\;", "\\n", "é", "☕", "日", "🙂"]
    for _ in range(300):
        line = "SUMMARY:" + "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 120)))
        folded = ics.fold(line)
        physical = folded.split("\r\n")
        assert all(len(part.encode()) <= 75 for part in physical)
        assert all(part.startswith(" ") for part in physical[1:])
        assert all((len(part) - len(part.rstrip("\\"))) % 2 == 0 for part in physical[:-1])
        assert folded.replace("\r\n ", "") == line
