"""Recurrence rules of items (docs/api/recurrence.md): the RFC 5545 RRULE subset we accept, and the dates
it gives, with dateutil's rrule.

Dates are dates: a rule is expanded over days, never instants, so daylight-saving changes cannot shift an
occurrence. A rule is always expanded from an anchor day, which is the first occurrence (RFC 5545's
DTSTART, counted as an occurrence even when the rule would not give it): in `schedule` mode the occurrence
just done, in `after_completion` mode the day it was completed. `COUNT` counts the occurrences of the
series, which the item keeps as `series_index` (the first occurrence is 1).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from dateutil import rrule as dateutil_rrule  # type: ignore[import-untyped]  # no stubs pinned

SCHEDULE = "schedule"
AFTER_COMPLETION = "after_completion"
MODES = (SCHEDULE, AFTER_COMPLETION)

MAX_RULE_LENGTH = 500
MAX_INTERVAL = 1000
MAX_COUNT = 10_000
# How far ahead a date is looked for: a rule that gives none within it (FREQ=YEARLY;BYMONTH=2;
# BYMONTHDAY=30, or one whose next date is centuries away) is refused, and no expansion runs unbounded.
HORIZON_YEARS = 100

FREQUENCIES = {
    "DAILY": dateutil_rrule.DAILY,
    "WEEKLY": dateutil_rrule.WEEKLY,
    "MONTHLY": dateutil_rrule.MONTHLY,
    "YEARLY": dateutil_rrule.YEARLY,
}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PARTS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "COUNT", "UNTIL")

_DAY = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_NUMBER = re.compile(r"^[+-]?\d{1,3}$")
_UNTIL = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


class RuleError(ValueError):
    """A rule outside the accepted subset; the message says which part and why."""


@dataclass(frozen=True)
class Rule:
    """A parsed rule: the RRULE parts we accept, as values."""

    freq: str
    interval: int = 1
    byday: tuple[tuple[int, str], ...] = ()  # (ordinal or 0, weekday)
    bymonthday: tuple[int, ...] = ()
    bymonth: tuple[int, ...] = ()
    bysetpos: tuple[int, ...] = ()
    count: int | None = None
    until: date | None = None

    def text(self) -> str:
        """The rule in its one written form: upper case, parts in a fixed order, INTERVAL only when not 1."""
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            parts.append("BYDAY=" + ",".join(f"{n or ''}{day}" for n, day in self.byday))
        for name, values in (
            ("BYMONTHDAY", self.bymonthday),
            ("BYMONTH", self.bymonth),
            ("BYSETPOS", self.bysetpos),
        ):
            if values:
                parts.append(f"{name}=" + ",".join(str(v) for v in values))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%d}")
        return ";".join(parts)

    def rrule(self, anchor: date) -> dateutil_rrule.rrule:
        """dateutil's expansion of the periods from the one holding `anchor`, bounded by UNTIL and the
        horizon. It starts at that period's first day with the parts the anchor fixes written out: given
        the anchor itself, dateutil makes the first week start there, and BYSETPOS would count in a
        partial week. Dates before the anchor, and COUNT, are the caller's (`dates_after`)."""
        full = _defaults(self, anchor)
        horizon = _horizon(anchor)
        until = horizon if self.until is None else min(self.until, horizon)
        arguments: dict[str, Any] = {
            "dtstart": _midnight(_period_start(self.freq, anchor, 0)),
            "interval": self.interval,
            "until": _midnight(until),
            "wkst": dateutil_rrule.MO,
        }
        if full.byday:
            arguments["byweekday"] = [_weekday(day, n) for n, day in full.byday]
        if full.bymonthday:
            arguments["bymonthday"] = full.bymonthday
        if full.bymonth:
            arguments["bymonth"] = full.bymonth
        if full.bysetpos:
            arguments["bysetpos"] = full.bysetpos
        return dateutil_rrule.rrule(FREQUENCIES[self.freq], **arguments)

    def dates_after(self, anchor: date) -> Iterator[date]:
        """The rule's dates after `anchor`, expanded from it, in order (UNTIL and the horizon bound them)."""
        if not gives_a_date(self, anchor):
            return  # dateutil would look for one until the year 9999
        for moment in self.rrule(anchor):
            day = moment.date()
            if day > anchor:
                yield day


def _weekday(day: str, ordinal: int) -> Any:
    weekday = dateutil_rrule.weekdays[WEEKDAYS.index(day)]
    return weekday(ordinal) if ordinal else weekday


def _midnight(day: date) -> datetime:
    return datetime.fromordinal(day.toordinal())  # naive on purpose: dates, not instants


def _horizon(anchor: date) -> date:
    return date(min(anchor.year + HORIZON_YEARS, 9999), 12, 31)


def _numbers(name: str, raw: str, low: int, high: int, signed: bool) -> tuple[int, ...]:
    values = []
    for piece in raw.split(","):
        if not _NUMBER.match(piece):
            raise RuleError(f"{name} takes numbers separated by commas.")
        value = int(piece)
        if not (low <= abs(value) <= high) or (value < 0 and not signed):
            bounds = f"{low}..{high}" + (f" or -{high}..-{low}" if signed else "")
            raise RuleError(f"{name} values must be {bounds}.")
        values.append(value)
    if len(set(values)) != len(values):
        raise RuleError(f"{name} names a value twice.")
    return tuple(values)


def _positive(name: str, raw: str, high: int) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise RuleError(f"{name} must be a whole number from 1 to {high}.")
    return int(raw)


def _byday(raw: str, freq: str) -> tuple[tuple[int, str], ...]:
    days = []
    for piece in raw.split(","):
        found = _DAY.match(piece)
        if not found:
            raise RuleError(
                "BYDAY takes weekdays (MO..SU), each optionally after an ordinal such as 1 or -1."
            )
        sign, number, day = found.groups()
        if number is None:
            if sign:
                raise RuleError("BYDAY: a sign needs an ordinal (-1FR).")
            days.append((0, day))
            continue
        ordinal = int(sign + number)
        if freq not in ("MONTHLY", "YEARLY"):
            raise RuleError("BYDAY ordinals (1MO, -1FR) only go with FREQ=MONTHLY or FREQ=YEARLY.")
        limit = 5 if freq == "MONTHLY" else 53
        if not 1 <= abs(ordinal) <= limit:
            raise RuleError(f"BYDAY ordinals must be 1..{limit} or -{limit}..-1 with FREQ={freq}.")
        days.append((ordinal, day))
    if len(set(days)) != len(days):
        raise RuleError("BYDAY names a day twice.")
    if len({ordinal == 0 for ordinal, _ in days}) > 1:
        # RFC 5545 takes the union; dateutil takes the intersection, which is empty.
        raise RuleError("BYDAY cannot mix days with an ordinal (1MO) and days without (MO).")
    return tuple(days)


def parse_rule(text: Any) -> Rule:
    """The rule `text` (an RRULE value, optionally after `RRULE:`), or RuleError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise RuleError("Must be an RRULE such as FREQ=WEEKLY;BYDAY=MO.")
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"At most {MAX_RULE_LENGTH} characters.")
    body = text.strip().upper()
    body = body.removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for piece in body.split(";"):
        name, equals, value = piece.partition("=")
        if not equals or not name or not value:
            raise RuleError(f"{piece!r} is not NAME=VALUE.")
        if name not in PARTS:
            allowed = ", ".join(PARTS)
            raise RuleError(f"{name} is not supported; a rule may use {allowed}.")
        if name in parts:
            raise RuleError(f"{name} appears twice.")
        parts[name] = value
    freq = parts.get("FREQ")
    if freq is None:
        raise RuleError("FREQ is required.")
    if freq not in FREQUENCIES:
        raise RuleError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("COUNT and UNTIL cannot both be used.")
    rule = Rule(
        freq=freq,
        interval=_positive("INTERVAL", parts["INTERVAL"], MAX_INTERVAL) if "INTERVAL" in parts else 1,
        byday=_byday(parts["BYDAY"], freq) if "BYDAY" in parts else (),
        bymonthday=_numbers("BYMONTHDAY", parts["BYMONTHDAY"], 1, 31, True) if "BYMONTHDAY" in parts else (),
        bymonth=_numbers("BYMONTH", parts["BYMONTH"], 1, 12, False) if "BYMONTH" in parts else (),
        bysetpos=_numbers("BYSETPOS", parts["BYSETPOS"], 1, 366, True) if "BYSETPOS" in parts else (),
        count=_positive("COUNT", parts["COUNT"], MAX_COUNT) if "COUNT" in parts else None,
        until=_until(parts["UNTIL"]) if "UNTIL" in parts else None,
    )
    if rule.bymonthday and freq == "WEEKLY":
        raise RuleError("BYMONTHDAY cannot be used with FREQ=WEEKLY.")
    if rule.bysetpos and not (rule.byday or rule.bymonthday or rule.bymonth):
        raise RuleError("BYSETPOS needs BYDAY, BYMONTHDAY or BYMONTH.")
    return rule


def _until(raw: str) -> date:
    found = _UNTIL.match(raw)
    if not found:
        raise RuleError("UNTIL must be a date, YYYYMMDD (a day, not a time).")
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        raise RuleError("UNTIL is not a valid date.") from None


# --- the guard: whether a rule gives any date within the horizon ------------------------------------------
#
# dateutil checks UNTIL only against dates it found: a rule that gives none from its anchor (BYMONTH=2;
# BYMONTHDAY=30, FREQ=DAILY;INTERVAL=7;BYDAY=TU from a Monday, BYSETPOS=6 of the Mondays of a month) makes
# it walk every period up to the year 9999, seconds of work for a daily rule. This walks the periods of
# the horizon with plain date arithmetic instead, and answers only whether a date exists.


def _month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _defaults(rule: Rule, anchor: date) -> Rule:
    """The parts RFC 5545 (and dateutil) take from the anchor when the rule leaves the day open."""
    if rule.byday or rule.bymonthday:
        return rule
    if rule.freq == "WEEKLY":
        return replace(rule, byday=((0, WEEKDAYS[anchor.weekday()]),))
    if rule.freq == "MONTHLY":
        return replace(rule, bymonthday=(anchor.day,))
    if rule.freq == "YEARLY":
        return replace(rule, bymonth=rule.bymonth or (anchor.month,), bymonthday=(anchor.day,))
    return rule


def _period(freq: str, start: date) -> list[date]:
    if freq == "DAILY":
        return [start]
    if freq == "WEEKLY":
        return [start + timedelta(days=n) for n in range(7)]
    if freq == "MONTHLY":
        return [start.replace(day=n) for n in range(1, _month_length(start.year, start.month) + 1)]
    length = 366 if calendar.isleap(start.year) else 365
    return [start + timedelta(days=n) for n in range(length)]


def _period_start(freq: str, day: date, steps: int) -> date:
    """The first day of the period `steps` periods after the one holding `day`."""
    if freq == "DAILY":
        return day + timedelta(days=steps)
    if freq == "WEEKLY":
        return day - timedelta(days=day.weekday()) + timedelta(weeks=steps)
    if freq == "MONTHLY":
        months = day.year * 12 + day.month - 1 + steps
        return date(months // 12, months % 12 + 1, 1)
    return date(day.year + steps, 1, 1)


def _ordinal_ok(rule: Rule, day: date, ordinal: int) -> bool:
    """Whether `day` is the `ordinal`-th of its weekday in its month (or year, for a yearly rule without
    BYMONTH), counting from the end when negative."""
    if rule.freq == "MONTHLY" or rule.bymonth:
        position, length = day.day, _month_length(day.year, day.month)
    else:
        position = day.timetuple().tm_yday
        length = 366 if calendar.isleap(day.year) else 365
    if ordinal > 0:
        return (position - 1) // 7 + 1 == ordinal
    return (length - position) // 7 + 1 == -ordinal


def _matches(rule: Rule, day: date) -> bool:
    if rule.bymonth and day.month not in rule.bymonth:
        return False
    if rule.bymonthday:
        from_end = day.day - _month_length(day.year, day.month) - 1
        if day.day not in rule.bymonthday and from_end not in rule.bymonthday:
            return False
    if rule.byday:
        weekday = WEEKDAYS[day.weekday()]
        wanted = [ordinal for ordinal, name in rule.byday if name == weekday]
        if not wanted:
            return False
        if wanted[0] and not any(_ordinal_ok(rule, day, ordinal) for ordinal in wanted):
            return False
    return True


def _selected(rule: Rule, days: list[date]) -> list[date]:
    found = [day for day in days if _matches(rule, day)]
    if not rule.bysetpos:
        return found
    picked = {found[p - 1 if p > 0 else p] for p in rule.bysetpos if -len(found) <= p <= len(found) and p}
    return sorted(picked)


def _days_exist(rule: Rule) -> bool:
    """Whether BYMONTHDAY names a day that some month of BYMONTH has (in a leap year): the common way to
    write a rule without dates (BYMONTH=2;BYMONTHDAY=30), answered without walking a century."""
    months = rule.bymonth or tuple(range(1, 13))
    return not rule.bymonthday or any(
        abs(day) <= _month_length(2024, month) for month in months for day in rule.bymonthday
    )


def gives_a_date(rule: Rule, anchor: date) -> bool:
    """Whether the rule expanded from `anchor` gives a date after it within UNTIL and the horizon."""
    if not _days_exist(rule):
        return False
    full = _defaults(rule, anchor)
    last = _horizon(anchor) if rule.until is None else min(rule.until, _horizon(anchor))
    steps = 0
    while True:
        start = _period_start(rule.freq, anchor, steps)
        if start > last:
            return False
        if any(anchor < day <= last for day in _selected(full, _period(rule.freq, start))):
            return True
        steps += rule.interval


@dataclass(frozen=True)
class Next:
    """The occurrence that follows: its date and its number in the series."""

    due_date: date
    index: int


def next_occurrence(
    rule: Rule, mode: str, *, due_date: date, index: int, completed_on: date, today: date
) -> Next | None:
    """What follows the occurrence numbered `index`, due on `due_date`, done on `completed_on` (both days
    in the user's time zone), or None when the rule has no later date (COUNT or UNTIL reached).

    `schedule`: the first date of the rule after `due_date` that is not before `today`; dates skipped on
    the way (an occurrence completed late) are occurrences of the series, counted by COUNT.
    `after_completion`: the first date of the rule after the day of completion, expanded from that day
    (and after `due_date`, for an occurrence completed before its date).
    """
    if mode == AFTER_COMPLETION:
        # After its own date too: completed early, an occurrence is not followed by one on its own date
        # (which would have its id).
        following = next((day for day in rule.dates_after(completed_on) if day > due_date), None)
        number = index + 1
        if following is None or (rule.count is not None and number > rule.count):
            return None
        return Next(following, number)
    number = index
    for day in rule.dates_after(due_date):
        number += 1
        if rule.count is not None and number > rule.count:
            return None
        if day >= today:
            return Next(day, number)
    return None


def has_date_from(rule: Rule, due_date: date, today: date) -> bool:
    """Whether the series starting on `due_date` has an occurrence on or after `today` (a rule whose dates
    are all past, or that gives none, is refused)."""
    if rule.until is not None and rule.until < due_date:
        return False
    if due_date >= today:
        return True
    return (
        next_occurrence(rule, SCHEDULE, due_date=due_date, index=1, completed_on=today, today=today)
        is not None
    )


def projected(rule: Rule, mode: str, *, due_date: date, index: int, last: date, today: date) -> list[Next]:
    """The occurrences that will follow the open one due on `due_date` up to `last` (for the agenda): each
    taken as done on its due date, the first not before `today` in `schedule` mode."""
    found: list[Next] = []
    current = Next(due_date, index)
    while True:
        completed_on = max(current.due_date, today) if mode == AFTER_COMPLETION else current.due_date
        following = next_occurrence(
            rule, mode, due_date=current.due_date, index=current.index, completed_on=completed_on, today=today
        )
        if following is None or following.due_date > last:
            return found
        found.append(following)
        current = following
        today = following.due_date  # later ones follow on from it
