"""Recurrence rules (lists.recurrence): what is accepted, and the next occurrence for a table of rules,
dates and modes, each row checked against the expected date and against an independent expansion
(tests/lists/rrule_reference.py), plus random rules against the same expansion."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta
from itertools import takewhile

import pytest

from lists.recurrence import RuleError, gives_a_date, next_occurrence, parse_rule, projected
from tests.lists import rrule_reference

D = date.fromisoformat

# rule, mode, the done occurrence's due date, its number in the series, completed on, today: expected next
TABLE = [
    # plain frequencies
    ("FREQ=DAILY", "schedule", "2026-03-07", 1, "2026-03-07", "2026-03-07", "2026-03-08"),
    ("FREQ=WEEKLY;INTERVAL=2", "schedule", "2026-03-02", 1, "2026-03-02", "2026-03-02", "2026-03-16"),
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR", "schedule", "2026-03-06", 1, "2026-03-06", "2026-03-06", "2026-03-09"),
    (
        "FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1",
        "schedule",
        "2026-01-01",
        1,
        "2026-01-01",
        "2026-01-01",
        "2026-07-01",
    ),
    # the 31st: BYMONTHDAY=31 and a monthly rule started on the 31st skip the short months
    ("FREQ=MONTHLY;BYMONTHDAY=31", "schedule", "2026-01-31", 1, "2026-01-31", "2026-01-31", "2026-03-31"),
    ("FREQ=MONTHLY;BYMONTHDAY=31", "schedule", "2026-03-31", 2, "2026-03-31", "2026-03-31", "2026-05-31"),
    ("FREQ=MONTHLY", "schedule", "2026-01-31", 1, "2026-01-31", "2026-01-31", "2026-03-31"),
    ("FREQ=MONTHLY", "schedule", "2026-07-31", 1, "2026-07-31", "2026-07-31", "2026-08-31"),
    (
        "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=31",
        "schedule",
        "2026-01-31",
        1,
        "2026-01-31",
        "2026-01-31",
        "2026-03-31",
    ),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", "schedule", "2026-01-31", 1, "2026-01-31", "2026-01-31", "2026-02-28"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", "schedule", "2028-01-31", 1, "2028-01-31", "2028-01-31", "2028-02-29"),
    ("FREQ=MONTHLY", "after_completion", "2026-01-15", 1, "2026-01-31", "2026-01-31", "2026-03-31"),
    # 29 February
    ("FREQ=YEARLY", "schedule", "2024-02-29", 1, "2024-02-29", "2024-02-29", "2028-02-29"),
    (
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "schedule",
        "2096-02-29",
        1,
        "2096-02-29",
        "2096-02-29",
        "2104-02-29",
    ),
    (
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
        "schedule",
        "2024-02-29",
        1,
        "2024-02-29",
        "2024-02-29",
        "2025-02-28",
    ),
    ("FREQ=YEARLY", "after_completion", "2024-02-29", 1, "2024-03-01", "2024-03-01", "2025-03-01"),
    # BYSETPOS=-1 with the weekdays: the last weekday of the month
    (
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "schedule",
        "2026-01-30",
        1,
        "2026-01-30",
        "2026-01-30",
        "2026-02-27",
    ),
    (
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "schedule",
        "2026-05-29",
        1,
        "2026-05-29",
        "2026-05-29",
        "2026-06-30",
    ),
    (
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1",
        "schedule",
        "2026-02-02",
        1,
        "2026-02-02",
        "2026-02-02",
        "2026-03-02",
    ),
    ("FREQ=MONTHLY;BYDAY=-1FR", "schedule", "2026-01-30", 1, "2026-01-30", "2026-01-30", "2026-02-27"),
    (
        "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
        "schedule",
        "2026-11-26",
        1,
        "2026-11-26",
        "2026-11-26",
        "2027-11-25",
    ),
    # daylight-saving days (Europe 2026-03-29 and 2026-10-25, America 2026-03-08 and 2026-11-01): dates
    ("FREQ=DAILY", "schedule", "2026-03-28", 1, "2026-03-28", "2026-03-28", "2026-03-29"),
    ("FREQ=DAILY", "schedule", "2026-03-29", 1, "2026-03-29", "2026-03-29", "2026-03-30"),
    ("FREQ=WEEKLY", "schedule", "2026-10-18", 1, "2026-10-18", "2026-10-18", "2026-10-25"),
    ("FREQ=WEEKLY;BYDAY=SU", "after_completion", "2026-03-01", 1, "2026-03-07", "2026-03-07", "2026-03-08"),
    ("FREQ=DAILY", "after_completion", "2026-10-31", 1, "2026-10-31", "2026-10-31", "2026-11-01"),
    # an overdue occurrence completed late, in schedule mode: the first date not before today
    ("FREQ=DAILY", "schedule", "2026-03-01", 1, "2026-03-10", "2026-03-10", "2026-03-10"),
    ("FREQ=WEEKLY;BYDAY=MO", "schedule", "2026-03-02", 1, "2026-03-18", "2026-03-18", "2026-03-23"),
    ("FREQ=MONTHLY;BYMONTHDAY=31", "schedule", "2026-01-31", 1, "2026-04-01", "2026-04-01", "2026-05-31"),
    ("FREQ=YEARLY", "schedule", "2024-02-29", 1, "2026-11-30", "2026-11-30", "2028-02-29"),
    # and in after_completion mode, from the day of completion
    ("FREQ=DAILY;INTERVAL=3", "after_completion", "2026-03-01", 1, "2026-03-05", "2026-03-05", "2026-03-08"),
    ("FREQ=WEEKLY;BYDAY=MO", "after_completion", "2026-02-23", 1, "2026-03-04", "2026-03-04", "2026-03-09"),
    (
        "FREQ=MONTHLY;BYMONTHDAY=15",
        "after_completion",
        "2026-03-15",
        1,
        "2026-03-20",
        "2026-03-20",
        "2026-04-15",
    ),
    # the anchor need not be a date of the rule (it is the first occurrence all the same)
    ("FREQ=WEEKLY;BYDAY=MO", "schedule", "2026-03-04", 1, "2026-03-04", "2026-03-04", "2026-03-09"),
    # COUNT counts the occurrences from the series' start; UNTIL is the last possible date
    ("FREQ=DAILY;COUNT=3", "schedule", "2026-03-02", 2, "2026-03-02", "2026-03-02", "2026-03-03"),
    ("FREQ=DAILY;COUNT=3", "schedule", "2026-03-03", 3, "2026-03-03", "2026-03-03", None),
    ("FREQ=DAILY;COUNT=5", "schedule", "2026-03-01", 1, "2026-03-10", "2026-03-10", None),
    ("FREQ=DAILY;COUNT=12", "schedule", "2026-03-01", 1, "2026-03-10", "2026-03-10", "2026-03-10"),
    ("FREQ=WEEKLY;COUNT=2", "after_completion", "2026-03-02", 1, "2026-03-04", "2026-03-04", "2026-03-11"),
    ("FREQ=WEEKLY;COUNT=2", "after_completion", "2026-03-11", 2, "2026-03-12", "2026-03-12", None),
    ("FREQ=WEEKLY;UNTIL=20260315", "schedule", "2026-03-02", 1, "2026-03-02", "2026-03-02", "2026-03-09"),
    ("FREQ=WEEKLY;UNTIL=20260315", "schedule", "2026-03-09", 2, "2026-03-09", "2026-03-09", None),
    ("FREQ=DAILY;UNTIL=20260315", "after_completion", "2026-03-10", 1, "2026-03-15", "2026-03-15", None),
]


@pytest.mark.parametrize(("rule", "mode", "due", "index", "completed", "today", "expected"), TABLE)
def test_the_next_occurrence_is_the_expected_date_and_the_reference_agrees(
    rule: str, mode: str, due: str, index: int, completed: str, today: str, expected: str | None
) -> None:
    found = next_occurrence(
        parse_rule(rule), mode, due_date=D(due), index=index, completed_on=D(completed), today=D(today)
    )
    reference = rrule_reference.next_date(
        rule, mode, due_date=D(due), index=index, completed_on=D(completed), today=D(today)
    )
    assert (found.due_date if found else None) == (D(expected) if expected else None)
    assert (None if found is None else (found.due_date, found.index)) == reference


def _random_rule(rng: random.Random) -> str:
    freq = rng.choice(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"])
    parts = [f"FREQ={freq}"]
    if rng.random() < 0.4:
        parts.append(f"INTERVAL={rng.randint(1, 5)}")
    days = rng.sample(["MO", "TU", "WE", "TH", "FR", "SA", "SU"], rng.randint(1, 5))
    roll = rng.random()
    if freq in ("MONTHLY", "YEARLY") and roll < 0.25:
        parts.append("BYDAY=" + ",".join(f"{rng.choice([1, 2, -1, 3])}{d}" for d in days[:2]))
    elif roll < 0.55:
        parts.append("BYDAY=" + ",".join(days))
    if freq != "WEEKLY" and rng.random() < 0.35:
        parts.append("BYMONTHDAY=" + ",".join(str(d) for d in rng.sample([1, 15, 28, 29, 30, 31, -1, -2], 2)))
    if rng.random() < 0.3:
        parts.append("BYMONTH=" + ",".join(str(m) for m in rng.sample(range(1, 13), rng.randint(1, 4))))
    if len(parts) > 1 and "BY" in ";".join(parts) and rng.random() < 0.3:
        parts.append(f"BYSETPOS={rng.choice([1, -1, 2])}")
    if rng.random() < 0.2:
        parts.append(f"COUNT={rng.randint(1, 20)}")
    elif rng.random() < 0.2:
        parts.append(f"UNTIL={date(2027, rng.randint(1, 12), 28):%Y%m%d}")
    return ";".join(parts)


def test_random_rules_expand_as_the_reference_does() -> None:
    rng = random.Random(17)
    checked = 0
    while checked < 150:
        text = _random_rule(rng)
        try:
            rule = parse_rule(text)
        except RuleError:
            continue
        anchor = date(2025, 1, 1) + timedelta(days=rng.randint(0, 800))
        last = anchor + timedelta(days=3 * 366)
        ours = [anchor, *takewhile(last.__ge__, rule.dates_after(anchor))]
        if rule.count is not None:
            ours = ours[: rule.count]
        reference = list(rrule_reference.occurrences(text, anchor, last))
        assert ours == reference, (text, anchor)
        for mode in ("schedule", "after_completion"):
            today = anchor + timedelta(days=rng.randint(0, 60))
            completed = today
            found = next_occurrence(rule, mode, due_date=anchor, index=1, completed_on=completed, today=today)
            expected = rrule_reference.next_date(
                text, mode, due_date=anchor, index=1, completed_on=completed, today=today
            )
            assert (None if found is None else (found.due_date, found.index)) == expected, (
                text,
                mode,
                anchor,
            )
        checked += 1


@pytest.mark.parametrize(
    ("rule", "written"),
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("rrule:freq=weekly;byday=mo,fr;interval=1", "FREQ=WEEKLY;BYDAY=MO,FR"),
        (
            "FREQ=MONTHLY;UNTIL=20261231;BYSETPOS=-1;BYDAY=MO,TU",
            "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=-1;UNTIL=20261231",
        ),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=3", "FREQ=YEARLY;BYMONTHDAY=29;BYMONTH=2;COUNT=3"),
        ("FREQ=MONTHLY;BYDAY=-1FR,+2MO", "FREQ=MONTHLY;BYDAY=-1FR,2MO"),
    ],
)
def test_a_rule_is_written_in_one_form(rule: str, written: str) -> None:
    assert parse_rule(rule).text() == written


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("", "RRULE"),
        ("FREQ=HOURLY", "FREQ must be"),
        ("FREQ=MINUTELY", "FREQ must be"),
        ("INTERVAL=2", "FREQ is required"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR is not supported"),
        ("FREQ=WEEKLY;WKST=SU", "WKST is not supported"),
        ("FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO is not supported"),
        ("FREQ=YEARLY;BYYEARDAY=100", "BYYEARDAY is not supported"),
        ("FREQ=DAILY;UNTIL=20261231T000000Z", "UNTIL must be a date"),
        ("FREQ=DAILY;UNTIL=20260230", "not a valid date"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20261231", "COUNT and UNTIL"),
        ("FREQ=DAILY;COUNT=0", "COUNT must be"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL must be"),
        ("FREQ=DAILY;FREQ=WEEKLY", "appears twice"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY takes"),
        ("FREQ=WEEKLY;BYDAY=1MO", "ordinals"),
        ("FREQ=MONTHLY;BYDAY=6MO", "ordinals must be"),
        ("FREQ=MONTHLY;BYDAY=MO,1TU", "cannot mix"),
        ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY cannot"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY values"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY values"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH values"),
        ("FREQ=MONTHLY;BYSETPOS=1", "BYSETPOS needs"),
        ("FREQ=DAILY;", "is not NAME=VALUE"),
        ("FREQ=DAILY;X-NAME=1", "X-NAME is not supported"),
        ("FREQ=DAILY\nBYDAY=MO", "FREQ must be"),
        ("FREQ=DAILY;" + "BYMONTH=1;" * 100, "At most"),
    ],
)
def test_a_rule_outside_the_subset_is_refused_saying_why(rule: str, says: str) -> None:
    with pytest.raises(RuleError, match=says):
        parse_rule(rule)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU",  # from a Monday: every seventh day is a Monday
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
        "FREQ=MONTHLY;INTERVAL=12;BYMONTH=2",  # from March: always March
    ],
)
def test_a_rule_without_dates_is_answered_at_once(rule: str) -> None:
    started = time.monotonic()
    assert not gives_a_date(parse_rule(rule), D("2026-03-02"))
    assert (
        next_occurrence(
            parse_rule(rule),
            "schedule",
            due_date=D("2026-03-02"),
            index=1,
            completed_on=D("2026-03-02"),
            today=D("2026-03-02"),
        )
        is None
    )
    assert time.monotonic() - started < 5  # dateutil alone walks to the year 9999


def test_projections_follow_each_other_to_the_end_of_the_range() -> None:
    rule = parse_rule("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=4")
    found = projected(
        rule, "schedule", due_date=D("2026-01-30"), index=1, last=D("2026-12-31"), today=D("2026-01-02")
    )
    assert [(n.due_date.isoformat(), n.index) for n in found] == [
        ("2026-02-27", 2),
        ("2026-03-31", 3),
        ("2026-04-30", 4),
    ]
